// pickletool show FILE|- [--json]: decode each pickle of the stream and print
// its graph, in the readable notation or as graph JSON, one per line.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "commands.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/show.hpp"

namespace {

struct ShowArgs {
  std::string file;
  bool json = false;
  int width = 80;
  pkl::StringEncoding encoding = pkl::StringEncoding::Ascii;
  bool strict = false;
};

void run_show(const ShowArgs& args) {
  int fd = 0;
  bool own = false;
  if (args.file != "-") {
    fd = ::open(args.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw pkl::Error(pkl::ErrorCode::Io, "can't open '" + args.file + "': " + std::strerror(errno));
    own = true;
  }
  struct Closer {
    int fd;
    bool own;
    ~Closer() {
      if (own) ::close(fd);
    }
  } closer{fd, own};

  pkl::FdSource source(fd, /*may_read_ahead=*/own);
  pkl::DecodeOptions options;
  options.string_encoding = args.encoding;
  if (args.strict) options.limits = pkl::Limits::strict();
  pkl::Decoder decoder(source, options);
  pkl::ShowOptions show_options;
  show_options.width = args.width;
  try {
    while (auto graph = decoder.next()) {
      if (args.json) {
        pkl::show_json(*graph, graph->root(), std::cout);
      } else {
        pkl::show(*graph, graph->root(), std::cout, show_options);
      }
      std::cout << '\n';
    }
  } catch (...) {
    std::cout.flush();
    throw;
  }
  std::cout.flush();
}

}  // namespace

void add_show_command(CLI::App& app) {
  auto args = std::make_shared<ShowArgs>();
  CLI::App* cmd = app.add_subcommand(
      "show", "Decode each pickle of the stream (running nothing) and print its value graph");
  cmd->add_option("file", args->file, "pickle file, or - for standard input")->required();
  cmd->add_flag("--json", args->json, "print each graph as graph JSON (docs/graph-json.md), one per line");
  cmd->add_option("--width", args->width, "line width of the readable notation")
      ->default_val(80)
      ->check(CLI::Range(1, 100000));
  const std::map<std::string, pkl::StringEncoding> encodings{
      {"ascii", pkl::StringEncoding::Ascii},
      {"latin1", pkl::StringEncoding::Latin1},
      {"bytes", pkl::StringEncoding::Bytes}};
  cmd->add_option("--encoding", args->encoding,
                  "how Python 2 str (STRING opcodes) decode, as pickle.loads(encoding=...)")
      ->transform(CLI::CheckedTransformer(encodings, CLI::ignore_case))
      ->default_str("ascii");
  cmd->add_flag("--strict-limits", args->strict, "decode with the tight budget Limits::strict()");
  cmd->callback([args] { run_show(*args); });
}
