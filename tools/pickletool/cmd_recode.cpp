// pickletool recode --protocol N [IN [OUT]]: decode each pickle of the
// stream (running nothing) and write it again at protocol N, one output
// pickle per input pickle, each written as soon as it is read: exactly the
// bytes CPython's pickle.dumps(pickle.loads(b), N) writes with inert
// stand-ins for the globals (docs/conformance.md §6).
#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "cli_common.hpp"
#include "cli_input.hpp"
#include "commands.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"

namespace {

struct RecodeArgs {
  int protocol = pkl::kDefaultProtocol;
  std::string in = "-";
  std::string out = "-";
  DecodeFlags decode;
  bool fix_imports = true;
};

void run_recode(const RecodeArgs& args) {
  Input in(args.in);
  const OpenFd out(args.out, OpenFd::Write);
  pkl::DecodeOptions options;
  args.decode.apply(options);
  in.apply(options);
  options.fix_imports = args.fix_imports;
  pkl::Decoder decoder(in.source(), options);

  pkl::FdSink sink(out.fd());
  pkl::EncodeOptions encode_options;
  encode_options.protocol = args.protocol;
  encode_options.fix_imports = args.fix_imports;
  pkl::Encoder encoder(sink, encode_options);
  while (auto graph = decoder.next()) encoder.dump(*graph, graph->root());
  // No pickle at all: pickle.load of an empty stream raises EOFError.
  if (encoder.count() == 0) throw pkl::Error(pkl::ErrorCode::EndOfInput, "Ran out of input");
}

}  // namespace

void add_recode_command(CLI::App& app) {
  auto args = std::make_shared<RecodeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "recode",
      "Decode each pickle of the stream (running nothing) and write it again at another protocol: "
      "the bytes CPython's pickle.dumps writes for what pickle.loads builds");
  cmd->add_option("-p,--protocol", args->protocol, "pickle protocol to write, 0 to 5 (default 4)")
      ->check(CLI::Range(0, pkl::kHighestProtocol));
  cmd->add_option("in", args->in, "pickle file, or - for standard input (the default)");
  cmd->add_option("out", args->out, "file to write, or - for standard output (the default)");
  args->decode.add_to(cmd);
  cmd->add_flag("!--no-fix-imports", args->fix_imports,
                "don't map Python 2 names (as fix_imports=False for both loads and dumps)");
  cmd->callback([args] { run_recode(*args); });
}
