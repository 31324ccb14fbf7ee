// pickletool dis FILE|-: the listing `python3 -m pickletools FILE` prints.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <span>
#include <string>

#include "cli_input.hpp"
#include "commands.hpp"
#include "picklecodec/dis.hpp"
#include "picklecodec/error.hpp"

namespace {

struct DisArgs {
  std::string file;
  int indentlevel = 4;
  bool all = false;
};

void run_dis(const DisArgs& args) {
  Input input(args.file);
  const std::span<const uint8_t> data = input.all();
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
