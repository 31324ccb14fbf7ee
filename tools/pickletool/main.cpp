// pickletool: inspect and rewrite Python pickles without running them.
//
// Exit codes, for every command: 0 success, 1 input rejected (one line on
// stderr: "pickletool: error: <message> at offset N (opcode X)"), 2 usage.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "commands.hpp"
#include "picklecodec/error.hpp"

namespace {

// The error report is one line even when CPython's words hold a newline
// (PERSID's "no persistent_load" message, a FLOAT argument's quoted line).
void report(const char* what) {
  std::string line;
  for (const char* p = what; *p; ++p) {
    if (*p == '\n') line += "\\n";
    else if (*p == '\r') line += "\\r";
    else line += *p;
  }
  std::fprintf(stderr, "pickletool: error: %s\n", line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pickletool: read, disassemble and rewrite Python pickles; nothing a pickle names is ever run"};
  app.require_subcommand(1);
  add_dis_command(app);
  add_show_command(app);
  add_recode_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const pkl::Error& e) {
    report(e.what());
    return e.code() == pkl::ErrorCode::Usage ? 2 : 1;
  } catch (const std::exception& e) {
    report(e.what());
    return 1;
  }
  return 0;
}
