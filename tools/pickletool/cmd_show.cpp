// pickletool show FILE|- [--json]: decode each pickle of the stream and print
// its graph, in the readable notation or as graph JSON, one per line.
#include <algorithm>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <span>
#include <string>

#include "cli_common.hpp"
#include "cli_input.hpp"
#include "commands.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/show.hpp"
#include "picklecodec/torch.hpp"

namespace {

struct ShowArgs {
  std::string file;
  bool json = false;
  int width = 80;
  DecodeFlags decode;
};

// A PyTorch checkpoint, told by its content (a zip archive, or the legacy
// format's magic number), is shown as its tree with tensor summaries: from
// a file or from a pipe alike (the head is peeked, not consumed).
bool show_torch_checkpoint(const ShowArgs& args, Input& in) {
  if (args.json) return false;
  uint8_t buf[16] = {};
  const size_t peeked = in.source().peek(buf, sizeof buf);
  // A mapped file cannot peek (it needs not: its bytes are at hand).
  const std::span<const uint8_t> head =
      peeked == pkl::Source::kNoPeek ? in.all().first(std::min(in.all().size(), sizeof buf))
                                     : std::span<const uint8_t>(buf, peeked);
  if (!pkl::torch::Checkpoint::looks_like_checkpoint(head)) return false;
  pkl::DecodeOptions options;
  args.decode.apply(options);
  pkl::torch::Checkpoint::from_memory(in.all(), options).show(std::cout);
  std::cout.flush();
  return true;
}

void run_show(const ShowArgs& args) {
  Input in(args.file);
  if (show_torch_checkpoint(args, in)) return;
  pkl::DecodeOptions options;
  args.decode.apply(options);
  in.apply(options);
  pkl::Decoder decoder(in.source(), options);
  pkl::ShowOptions show_options;
  show_options.width = args.width;
  size_t shown = 0;
  try {
    while (auto graph = decoder.next()) {
      ++shown;
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
  // A stream may end cleanly after a pickle, not before the first: as
  // recode and pickle.load (EOFError) do.
  if (shown == 0) throw pkl::Error(pkl::ErrorCode::EndOfInput, "Ran out of input");
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
  args->decode.add_to(cmd);
  cmd->callback([args] { run_show(*args); });
}
