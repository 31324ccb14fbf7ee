// pkl::scan: a security scanner for pickles and the files that hold them,
// built on the decoder's trace mode (picklecodec/trace.hpp). The decoder
// reads every pickle as CPython's C unpickler does and runs nothing, so what
// the scanner reports is what CPython would import and call, in order, with
// byte offsets; a parser difference cannot hide a call from it.
//
//   pkl::scan::Options o;
//   o.policy = pkl::scan::Policy::profile("torch");
//   pkl::scan::Report r = pkl::scan::scan_file("model.pt", o);
//   if (r.verdict >= pkl::scan::Verdict::Unknown) ...
//
// Containers are told by content, never by name: a pickle stream (every
// pickle of it, and bytes after the last STOP), a zip archive (every member
// holding a pickle or a .npy; PyTorch's and numpy's .npz; TorchScript
// flagged), the legacy torch.save format, a .npy with an object dtype,
// joblib dumps (the arrays inside the stream; joblib < 0.10's ZF file) and
// the compressors and archives around them (docs/scan.md).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "picklecodec/decode.hpp"
#include "picklecodec/limits.hpp"

namespace pkl::scan {

// Ordered: a report's verdict is its worst finding.
enum class Verdict : uint8_t {
  Clean,       // every global and use is in the policy's allowlist
  Unknown,     // something outside the allowlist, no dangerous callable reached
  Suspicious,  // anomalies: reflection, calls on call results, trailing data, TorchScript code
  Dangerous,   // a known-dangerous callable (process, code, files, network, imports, nested loads) reached
  Error,       // could not analyse all of it: fail closed
};
const char* verdict_name(Verdict v) noexcept;
// "clean", "unknown", ... -> the verdict; false for another word.
bool parse_verdict(std::string_view word, Verdict& out) noexcept;

// What an allowlisted global may do.
enum Use : uint8_t {
  kImport = 1,  // be named by GLOBAL / STACK_GLOBAL / INST / EXT
  kCall = 2,    // be called: REDUCE, INST/OBJ with arguments
  kClass = 4,   // be made with cls.__new__: NEWOBJ, NEWOBJ_EX, INST/OBJ without arguments
  kBuild = 8,   // objects it made receive BUILD (__setstate__) or item methods
};

// Allowlists of exact (module, qualname) entries. No wildcards.
class Policy {
 public:
  // The shipped profiles: "torch-weights-only" (torch/_weights_only_unpickler.py),
  // "torch", "numpy", "pandas", "sklearn", "joblib", "stdlib". Throws
  // pkl::Error (Usage) for another name. Profiles combine with add().
  static Policy profile(std::string_view name);
  static const std::vector<std::string>& profile_names();
  void add(const Policy& other);
  void allow(std::string_view module, std::string_view qualname, uint8_t uses);
  // A file of lines "module qualname uses" (uses: letters i c n b, e.g.
  // "icnb"); '#' starts a comment. Throws pkl::Error (Usage) on a bad line.
  void load_file(const std::string& path);
  void load_text(std::string_view text, const std::string& where);
  // The uses allowed for (module, qualname); 0 when not listed.
  uint8_t uses(std::string_view module, std::string_view qualname) const;
  size_t size() const noexcept { return entries_.size(); }

 private:
  std::map<std::string, uint8_t, std::less<>> entries_;  // "module\nqualname"
};

struct Finding {
  Verdict severity = Verdict::Unknown;
  std::string rule;      // stable id: "dangerous-call", "not-allowlisted", "trailing-data", ...
  std::string category;  // for dangerous callables: "process", "code", "file-io", ...; else ""
  std::string message;   // what was found and why it matters
  std::string location;  // where in the container: "" (the stream), "archive/data.pkl", ...
  uint64_t offset = 0;   // byte offset in that location's pickle stream
};

// One step CPython would take, in order.
struct Step {
  std::string what;      // "import", "call", "new", "build", "method", "getattr", "persistent_load"
  std::string target;    // "os.system", or "<result of m.f()>" for a call on a call's result
  std::string opcode;
  std::string location;
  uint64_t offset = 0;
};

struct Report {
  std::string path;
  std::string container;  // "pickle", "joblib", "joblib-zfile", "zip", "torch-zip", "torch-legacy", "npy", "gzip", ... (docs/scan.md)
  Verdict verdict = Verdict::Clean;
  uint64_t pickles = 0;   // pickles decoded
  std::vector<Finding> findings;
  std::vector<Step> steps;
};

struct Options {
  Policy policy;  // empty: nothing is clean
  Limits limits = Limits::strict();
  // How Python 2 str decode, as pickle.loads(encoding=...) (numpy and
  // pandas load Python 2 pickles with 'latin1').
  StringEncoding string_encoding = StringEncoding::Ascii;
  // Bomb limits of containers: members read, bytes inflated in all, and how
  // deep nested containers (a pickle in a bytes argument of a nested loader) go.
  uint64_t max_members = 10'000;
  uint64_t max_inflated_bytes = uint64_t{1} << 30;
  uint32_t max_nesting = 4;
  // Called with each pickle stream the scan decodes: its bytes, the
  // location of its findings and steps, and how many pickles of it are read
  // (0: all until the input ends; a .npy object array and a joblib object
  // array 1, the legacy torch format 5). Zip and tar members, inflated
  // streams, joblib streams, nested loaders' bytes... fuzz/fuzz_scan.cpp
  // decodes each one itself and checks the report's steps cover its graph.
  std::function<void(std::span<const uint8_t> stream, const std::string& location, size_t pickles)> on_stream;
};

// Scans bytes in memory (kept alive by the caller during the call); `path`
// only names the report.
Report scan_bytes(std::span<const uint8_t> data, const Options& options, const std::string& path = "-");
// Maps the file (never reads tensor data it does not need).
Report scan_file(const std::string& path, const Options& options);

}  // namespace pkl::scan
