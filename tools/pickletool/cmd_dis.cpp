// pickletool dis FILE|-: the listing `python3 -m pickletools FILE` prints.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "picklecodec/dis.hpp"
#include "picklecodec/error.hpp"

namespace {

// The whole input, from a file or (for "-") standard input.
std::vector<uint8_t> read_input(const std::string& path) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!f) throw pkl::Error(pkl::ErrorCode::Io, "can't open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> data;
  std::vector<uint8_t> chunk(1 << 16);
  for (;;) {
    size_t n = std::fread(chunk.data(), 1, chunk.size(), f);
    data.insert(data.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    if (n < chunk.size()) break;
  }
  bool failed = std::ferror(f) != 0;
  int err = errno;
  if (f != stdin) std::fclose(f);
  if (failed) throw pkl::Error(pkl::ErrorCode::Io, "can't read '" + path + "': " + std::strerror(err));
  return data;
}

struct DisArgs {
  std::string file;
  int indentlevel = 4;
  bool all = false;
};

void run_dis(const DisArgs& args) {
  std::vector<uint8_t> data = read_input(args.file);
  pkl::DisOptions options;
  options.indentlevel = args.indentlevel;
  try {
    do {
      options.start = pkl::disassemble(data, std::cout, options);
    } while (args.all && options.start < data.size());
  } catch (...) {
    std::cout.flush();
    throw;
  }
  std::cout.flush();
}

}  // namespace

void add_dis_command(CLI::App& app) {
  auto args = std::make_shared<DisArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dis", "Disassemble a pickle: exactly what `python3 -m pickletools FILE` prints");
  cmd->add_option("file", args->file, "pickle file, or - for standard input")->required();
  cmd->add_option("-l,--indentlevel", args->indentlevel,
                  "blanks by which to indent a new MARK level")
      ->default_val(4)
      ->check(CLI::Range(0, 1000));
  cmd->add_flag("--all", args->all,
                "disassemble every pickle of the stream, one after another "
                "(pickletools stops after the first)");
  cmd->callback([args] { run_dis(*args); });
}
