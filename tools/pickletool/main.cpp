// pickletool: inspect and rewrite Python pickles without running them.
//
// Exit codes, for every command: 0 success, 1 input rejected (one line on
// stderr: "pickletool: error: <message> at offset N (opcode X)"), 2 usage;
// diff: 0 the same, 1 different, 2 usage, 3 an input unreadable.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "commands.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/memory.hpp"

namespace {

// The error report is one line even when CPython's words hold a line break
// (PERSID's "no persistent_load" message, a FLOAT argument's quoted line, an
// encoding name from the input): control characters and the other
// characters str.splitlines() breaks at (U+0085, U+2028, U+2029) are escaped.
void report(std::string_view what) {
  static const char hex[] = "0123456789abcdef";
  std::string line;
  for (size_t i = 0; i < what.size(); ++i) {
    const auto c = static_cast<unsigned char>(what[i]);
    auto at = [&](size_t k) { return i + k < what.size() ? static_cast<unsigned char>(what[i + k]) : 0u; };
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      line += "\\x";
      line += hex[c >> 4];
      line += hex[c & 15];
    } else if (c == 0xc2 && at(1) == 0x85) {
      line += "\\x85";
      ++i;
    } else if (c == 0xe2 && at(1) == 0x80 && (at(2) == 0xa8 || at(2) == 0xa9)) {
      line += at(2) == 0xa8 ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      line += static_cast<char>(c);
    }
  }
  std::fprintf(stderr, "pickletool: error: %s\n", line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // One decode per process: a large graph's first page touches cost less
  // in huge pages, and there is no next graph to reuse cached pages.
  pkl::set_huge_pages(true);
  CLI::App app{"pickletool: read, disassemble and rewrite Python pickles; nothing a pickle names is ever run"};
  app.require_subcommand(1);
  add_dis_command(app);
  add_show_command(app);
  add_recode_command(app);
  add_scan_command(app);
  add_diff_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const CommandExit& e) {
    if (!e.message.empty()) report(e.message);
    return e.code;
  } catch (const pkl::Error& e) {
    report(e.text());
    return e.code() == pkl::ErrorCode::Usage ? 2 : 1;
  } catch (const std::exception& e) {
    report(e.what());
    return 1;
  }
  return 0;
}
