// pickletool diff A B: decode the first pickle of each (running nothing) and
// say whether they are the same graph under the harness's one equivalence
// (harness/equivalence.hpp), else where they first differ.
//
// Exit codes: 0 the same, 1 different, 2 usage, 3 an input cannot be read
// or decoded (one `pickletool: error:` line naming the side).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli_common.hpp"
#include "cli_input.hpp"
#include "commands.hpp"
#include "equivalence.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/error.hpp"

namespace {

struct DiffArgs {
  std::string a, b;
  bool ordered_sets = false;
  bool exact = false;
  bool nan_any = false;
  DecodeFlags decode;
};

// One side: its input kept open as long as its graph (a mapped file's large
// bytes are views into it).
struct Side {
  std::unique_ptr<Input> in;
  pkl::Graph graph;
};

Side read_side(const std::string& path, const char* which, const DecodeFlags& flags) {
  Side s;
  try {
    s.in = std::make_unique<Input>(path);
    pkl::DecodeOptions options;
    flags.apply(options);
    s.in->apply(options);
    pkl::Decoder decoder(s.in->source(), options);
    std::optional<pkl::Graph> g = decoder.next();
    if (!g) throw pkl::Error(pkl::ErrorCode::EndOfInput, "Ran out of input");
    s.graph = std::move(*g);
  } catch (const pkl::Error& e) {
    throw CommandExit(3, std::string(which) + " (" + path + "): " + e.text());
  } catch (const std::exception& e) {
    throw CommandExit(3, std::string(which) + " (" + path + "): " + e.what());
  }
  return s;
}

void run_diff(const DiffArgs& args) {
  if (args.a == "-" && args.b == "-") throw CommandExit(2, "only one side may be - (standard input)");
  const Side a = read_side(args.a, "A", args.decode);
  const Side b = read_side(args.b, "B", args.decode);
  // The default: what a pickle keeps (Equivalence::round_trip(): atoms by
  // value, a None state as none), set members in any order (CPython writes
  // them in hash order, which for str members changes from one process to
  // the next); --exact: pkl::isomorphic.
  pklharness::Equivalence eq = args.exact ? pklharness::Equivalence::strict() : pklharness::Equivalence::round_trip();
  eq.sets_unordered = !args.exact && !args.ordered_sets;
  eq.nan_any = args.nan_any;
  const std::string why = pklharness::difference(a.graph, a.graph.root(), b.graph, b.graph.root(), eq);
  if (why.empty()) {
    std::printf("same\n");
    return;
  }
  std::printf("different %s\n", why.c_str());
  std::fflush(stdout);
  throw CommandExit(1);
}

}  // namespace

void add_diff_command(CLI::App& app) {
  auto args = std::make_shared<DiffArgs>();
  CLI::App* cmd = app.add_subcommand(
      "diff",
      "Decode the first pickle of A and of B (running nothing) and say whether they are the same graph, "
      "else where they first differ (exit 0 same, 1 different, 2 usage, 3 unreadable)");
  cmd->add_option("a", args->a, "pickle file, or - for standard input")->required();
  cmd->add_option("b", args->b, "pickle file, or - for standard input")->required();
  cmd->add_flag("--ordered-sets", args->ordered_sets,
                "set and frozenset members must be in the same order (by default any order: CPython writes them "
                "in hash order, which differs between processes)");
  cmd->add_flag("--exact", args->exact,
                "isomorphic graphs: ints, floats, None, bools and empty tuples shared as in the pickle, "
                "a None state not the same as none");
  cmd->add_flag("--nan-any", args->nan_any, "any NaN equals any NaN (protocol 0 writes every NaN as 'nan')");
  args->decode.add_to(cmd);
  cmd->callback([args] { run_diff(*args); });
}
