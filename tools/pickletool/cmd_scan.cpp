// pickletool scan FILE... [--profile P]... [--allow FILE]... [--fail-on V]
// [--json | --sarif]: what each file's pickles would import and call in
// CPython, judged against an allowlist (picklecodec/scan.hpp; docs/scan.md).
// Exit status: 0 when every verdict is below --fail-on, 1 at or above it,
// 2 usage, 3 when a file could not be analysed (verdict error).
#include <CLI/CLI.hpp>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_input.hpp"
#include "commands.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/scan.hpp"

namespace {

using pkl::scan::Report;
using pkl::scan::Verdict;

// docs/scan.md describes this schema; bump on any incompatible change.
constexpr int kJsonSchemaVersion = 1;

struct ScanArgs {
  std::vector<std::string> files;
  std::vector<std::string> profiles;
  std::vector<std::string> allow;
  std::string fail_on = "unknown";
  bool json = false;
  bool sarif = false;
  bool steps = false;
  bool quiet = false;
  std::string encoding = "ascii";
};

nlohmann::json report_json(const Report& r) {
  nlohmann::json j;
  j["path"] = r.path;
  j["container"] = r.container;
  j["verdict"] = pkl::scan::verdict_name(r.verdict);
  j["pickles"] = r.pickles;
  j["findings"] = nlohmann::json::array();
  for (const auto& f : r.findings)
    j["findings"].push_back({{"severity", pkl::scan::verdict_name(f.severity)},
                             {"rule", f.rule},
                             {"category", f.category},
                             {"message", f.message},
                             {"location", f.location},
                             {"offset", f.offset}});
  j["steps"] = nlohmann::json::array();
  for (const auto& s : r.steps)
    j["steps"].push_back({{"what", s.what},
                          {"target", s.target},
                          {"opcode", s.opcode},
                          {"location", s.location},
                          {"offset", s.offset}});
  return j;
}

const char* sarif_level(Verdict v) {
  switch (v) {
    case Verdict::Dangerous:
    case Verdict::Error: return "error";
    case Verdict::Suspicious: return "warning";
    default: return "note";
  }
}

nlohmann::json sarif(const std::vector<Report>& reports) {
  nlohmann::json results = nlohmann::json::array();
  std::map<std::string, std::string> rules;
  for (const Report& r : reports)
    for (const auto& f : r.findings) {
      rules.emplace(f.rule, f.category);
      std::string where = r.path + (f.location.empty() ? "" : "!" + f.location);
      results.push_back(
          {{"ruleId", f.rule},
           {"level", sarif_level(f.severity)},
           {"message", {{"text", f.message + " [" + pkl::scan::verdict_name(f.severity) + "]"}}},
           {"locations",
            {{{"physicalLocation",
               {{"artifactLocation", {{"uri", r.path}}},
                {"region", {{"byteOffset", f.offset}, {"byteLength", 1}}}}},
              {"logicalLocations", {{{"fullyQualifiedName", where}}}}}}},
           {"properties", {{"verdict", pkl::scan::verdict_name(f.severity)}, {"location", f.location}}}});
    }
  nlohmann::json rule_list = nlohmann::json::array();
  for (const auto& [id, cat] : rules)
    rule_list.push_back({{"id", id}, {"properties", {{"category", cat}}}});
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs",
           {{{"tool", {{"driver", {{"name", "pickletool scan"}, {"informationUri", "docs/scan.md"}, {"rules", rule_list}}}}},
             {"results", results}}}}};
}

void print_text(const Report& r, bool steps) {
  std::cout << r.path << ": " << pkl::scan::verdict_name(r.verdict) << " (" << (r.container.empty() ? "?" : r.container)
            << ", " << r.pickles << " pickle" << (r.pickles == 1 ? "" : "s") << ")\n";
  for (const auto& f : r.findings) {
    std::cout << "  " << pkl::scan::verdict_name(f.severity) << " " << f.rule;
    if (!f.category.empty()) std::cout << " [" << f.category << "]";
    std::cout << " at " << (f.location.empty() ? "" : f.location + ":") << f.offset << ": " << f.message << "\n";
  }
  if (steps)
    for (const auto& s : r.steps)
      std::cout << "    " << (s.location.empty() ? "" : s.location + ":") << s.offset << " " << s.opcode << " "
                << s.what << " " << s.target << "\n";
}

// Standard input as every pickletool command reads it (a pipe or a
// redirected file), scanned as one file named "-".
Report scan_stdin(const pkl::scan::Options& o) {
  Input in("-");
  return pkl::scan::scan_bytes(in.all(), o, "-");
}

void run_scan(const ScanArgs& args) {
  Verdict fail_on;
  if (!pkl::scan::parse_verdict(args.fail_on, fail_on))
    throw pkl::Error(pkl::ErrorCode::Usage, "--fail-on takes clean, unknown, suspicious, dangerous or error");
  pkl::scan::Options o;
  if (args.encoding == "latin1") {
    o.string_encoding = pkl::StringEncoding::Latin1;
  } else if (args.encoding == "bytes") {
    o.string_encoding = pkl::StringEncoding::Bytes;
  } else if (args.encoding != "ascii") {
    throw pkl::Error(pkl::ErrorCode::Usage, "--encoding takes ascii, latin1 or bytes");
  }
  for (const auto& p : args.profiles) o.policy.add(pkl::scan::Policy::profile(p));
  for (const auto& f : args.allow) o.policy.load_file(f);
  std::vector<Report> reports;
  bool failed = false, error = false;
  // A terminal's line, rewritten in place: into a log or a pipe its
  // carriage returns and escapes would be litter.
  const bool progress = args.files.size() > 1 && !args.quiet && ::isatty(STDERR_FILENO);
  size_t i = 0;
  for (const auto& f : args.files) {
    ++i;
    if (progress) std::fprintf(stderr, "\rscan: %zu/%zu %s\x1b[K", i, args.files.size(), f.c_str());
    Report r = f == "-" ? scan_stdin(o) : pkl::scan::scan_file(f, o);
    failed |= r.verdict >= fail_on;
    error |= r.verdict == Verdict::Error;
    if (!args.json && !args.sarif) print_text(r, args.steps);
    reports.push_back(std::move(r));
  }
  if (progress) std::fprintf(stderr, "\rscan: %zu files\x1b[K\n", args.files.size());
  if (args.json) {
    nlohmann::json j = {{"schema", "pickletool-scan"}, {"version", kJsonSchemaVersion}, {"fail_on", args.fail_on}};
    j["reports"] = nlohmann::json::array();
    for (const auto& r : reports) j["reports"].push_back(report_json(r));
    std::cout << j.dump(1) << "\n";
  } else if (args.sarif) {
    std::cout << sarif(reports).dump(1) << "\n";
  }
  std::cout.flush();
  std::exit(error ? 3 : failed ? 1 : 0);
}

}  // namespace

void add_scan_command(CLI::App& app) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "scan", "Report what each file's pickles would import and call in CPython (running nothing), against an allowlist");
  cmd->add_option("files", args->files,
                  "files (pickles, PyTorch checkpoints, .npy/.npz, zip archives), or - for standard input")
      ->required()
      ->check(CLI::ExistingFile | CLI::IsMember({"-"}));
  cmd->add_option("--profile", args->profiles,
                  "allowlist profile: torch-weights-only, torch, numpy, pandas, sklearn, joblib, stdlib (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--allow", args->allow, "allowlist file: lines 'module qualname uses' (uses: i c n b)")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  cmd->add_option("--fail-on", args->fail_on, "exit 1 at or above this verdict (default unknown)");
  auto* json = cmd->add_flag("--json", args->json, "one JSON document (schema: docs/scan.md)");
  cmd->add_flag("--sarif", args->sarif, "SARIF 2.1.0 for code-scanning dashboards")->excludes(json);
  cmd->add_flag("--steps", args->steps, "text output: every import and call, in order");
  cmd->add_flag("--quiet", args->quiet, "no progress on stderr");
  cmd->add_option("--encoding", args->encoding,
                  "how Python 2 str (STRING opcodes) decode, as pickle.loads(encoding=...): ascii, latin1, bytes");
  cmd->callback([args] { run_scan(*args); });
}
