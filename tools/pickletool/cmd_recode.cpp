// pickletool recode --protocol N [IN [OUT]]: decode each pickle of the
// stream (running nothing) and write it again at protocol N, one output
// pickle per input pickle, each written as soon as it is read: exactly the
// bytes CPython's pickle.dumps(pickle.loads(b), N) writes with inert
// stand-ins for the globals (CONFORMANCE.md §6).
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "commands.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"

namespace {

struct RecodeArgs {
  int protocol = pkl::kDefaultProtocol;
  std::string in = "-";
  std::string out = "-";
  pkl::StringEncoding encoding = pkl::StringEncoding::Ascii;
  bool fix_imports = true;
  bool strict = false;
};

struct Fd {
  int fd = -1;
  bool own = false;
  ~Fd() {
    if (own) ::close(fd);
  }
};

void run_recode(const RecodeArgs& args) {
  Fd in;
  in.fd = 0;
  if (args.in != "-") {
    in.fd = ::open(args.in.c_str(), O_RDONLY | O_CLOEXEC);
    if (in.fd < 0) throw pkl::Error(pkl::ErrorCode::Io, "can't open '" + args.in + "': " + std::strerror(errno));
    in.own = true;
  }
  Fd out;
  out.fd = 1;
  if (args.out != "-") {
    out.fd = ::open(args.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out.fd < 0) throw pkl::Error(pkl::ErrorCode::Io, "can't open '" + args.out + "': " + std::strerror(errno));
    out.own = true;
  }

  // A pipe is read no further than each pickle's STOP, so pickles are
  // recoded as they arrive.
  pkl::FdSource source(in.fd, /*may_read_ahead=*/in.own);
  pkl::DecodeOptions options;
  options.string_encoding = args.encoding;
  options.fix_imports = args.fix_imports;
  if (args.strict) options.limits = pkl::Limits::strict();
  pkl::Decoder decoder(source, options);

  pkl::FdSink sink(out.fd);
  pkl::EncodeOptions encode_options;
  encode_options.protocol = args.protocol;
  encode_options.fix_imports = args.fix_imports;
  pkl::Encoder encoder(sink, encode_options);
  while (auto graph = decoder.next()) encoder.dump(*graph);
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
  const std::map<std::string, pkl::StringEncoding> encodings{
      {"ascii", pkl::StringEncoding::Ascii},
      {"latin1", pkl::StringEncoding::Latin1},
      {"bytes", pkl::StringEncoding::Bytes}};
  cmd->add_option("--encoding", args->encoding,
                  "how Python 2 str (STRING opcodes) decode, as pickle.loads(encoding=...)")
      ->transform(CLI::CheckedTransformer(encodings, CLI::ignore_case))
      ->default_str("ascii");
  cmd->add_flag("!--no-fix-imports", args->fix_imports,
                "don't map Python 2 names (as fix_imports=False for both loads and dumps)");
  cmd->add_flag("--strict-limits", args->strict, "decode with the tight budget Limits::strict()");
  cmd->callback([args] { run_recode(*args); });
}
