// pkl::scan: the decoder in trace mode over each pickle of a container, the
// policy applied to every step CPython would take (picklecodec/scan.hpp).
#include "picklecodec/scan.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <tuple>
#include <unordered_set>

#include "picklecodec/decode.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/opcodes.hpp"
#include "picklecodec/torch.hpp"
#include "picklecodec/trace.hpp"
#include "decode/opcode_args.hpp"
#include "decode/opcode_length.hpp"
#include "scan/danger.hpp"
#include "scan/joblib.hpp"

namespace pkl::scan {

const char* verdict_name(Verdict v) noexcept {
  switch (v) {
    case Verdict::Clean: return "clean";
    case Verdict::Unknown: return "unknown";
    case Verdict::Suspicious: return "suspicious";
    case Verdict::Dangerous: return "dangerous";
    case Verdict::Error: return "error";
  }
  return "error";
}

bool parse_verdict(std::string_view w, Verdict& out) noexcept {
  for (Verdict v : {Verdict::Clean, Verdict::Unknown, Verdict::Suspicious, Verdict::Dangerous, Verdict::Error})
    if (w == verdict_name(v)) {
      out = v;
      return true;
    }
  return false;
}

namespace {

std::string op_name(uint8_t c) {
  const OpcodeInfo* i = opcode_info(c);
  return i ? i->name : "?";
}

struct Scanner;

// Bytes inside a pickle stream that are not opcodes: joblib's arrays, [from, to).
using Skips = std::vector<std::pair<uint64_t, uint64_t>>;

// Where CPython's loaders part: the C unpickler (pickle.loads, pickle.load,
// torch.load) treats a FRAME as a read-ahead hint and reads on past its end,
// while the pure-Python one (pickle._Unpickler, and every unpickler written
// after it, joblib's among them) refuses an opcode that crosses a frame's end
// ("pickle exhausted before end of frame") or a FRAME inside an unfinished
// frame ("beginning of a new frame before end of current frame"). Walks the
// opcodes of one pickle from `start`, passing over `skips`.
struct FrameWalk {
  FrameWalk(std::span<const uint8_t> data, const Skips& s, uint64_t start) : d(data), skips(&s), p(start) {}
  std::span<const uint8_t> d;
  const Skips* skips;
  uint64_t p;
  size_t si = 0;  // the first skip not passed
  bool in_frame = false;
  // Reached the STOP; met an opcode the pure-Python unpickler may read
  // otherwise when the C one reads it without error (INT, LONG, GET, PUT,
  // FLOAT's text; APPENDS or ADDITEMS right after their MARK).
  bool stopped = false;
  bool python_text = false;
  bool after_mark = false;
  uint64_t frame_end = 0;
  uint64_t diff_at = 0;
  std::string diff;  // the first difference met, or empty

  // Walks on until `to` (or STOP); false when the opcodes cannot be walked
  // (an unknown opcode, the input's end, a negative count, a difference).
  bool walk(uint64_t to) {
    while (p < to && p < d.size() && diff.empty()) {
      while (si < skips->size() && (*skips)[si].first < p) ++si;  // in order of offset
      if (si < skips->size() && (*skips)[si].first == p) {
        p = (*skips)[si++].second;
        continue;
      }
      const uint8_t c = d[p];
      const OpcodeLength len = opcode_length(d, p);
      if (!len.ok()) return false;
      const uint64_t end = p + len.length;
      if (in_frame && p >= frame_end) in_frame = false;
      if (in_frame && c == op::FRAME) {
        diff_at = p;
        diff = "a FRAME begins before the current frame ends: the C unpickler reads on, the pure-Python "
               "unpickler stops here";
        return false;
      }
      if (in_frame && end > frame_end) {
        diff_at = p;
        diff = "an opcode crosses the end of its FRAME: the C unpickler reads on, the pure-Python unpickler "
               "stops here (pickle exhausted before end of frame)";
        return false;
      }
      if (c == op::FRAME) {
        in_frame = true;
        frame_end = end + pkl::detail::le(d.data() + p + 1, 8);
      }
      p = end;
      python_text |= c == op::INT || c == op::LONG || c == op::GET || c == op::PUT || c == op::FLOAT ||
                     ((c == op::APPENDS || c == op::ADDITEMS) && after_mark);
      after_mark = c == op::MARK || (after_mark && (c == op::FRAME || c == op::PROTO));
      if (c == op::STOP) {
        stopped = true;
        return p >= to;
      }
    }
    return p >= to && diff.empty();
  }
  // True when the walk stands inside a frame that goes on.
  bool inside_frame() const { return in_frame && frame_end > p; }
};

// One pickle stream's trace, judged as it comes.
class Judge final : public TraceObserver {
 public:
  Judge(Scanner& s, std::string location) : s_(s), loc_(std::move(location)) {}
  void on_event(const TraceEvent& e, const Graph& g) override;
  // joblib.load makes an array of this class (not ndarray): it is instantiated.
  void joblib_subclass(const Graph& g, NodeId cls, uint64_t offset) {
    const GlobalData& gd = g.global_data(cls);
    TraceEvent e{.kind = TraceKind::Call, .opcode = op::BUILD, .offset = offset};
    step("new", gd.module + "." + gd.qualname, e);
    check_global(gd.module, gd.qualname, kClass, "is instantiated by joblib.load (the array's subclass)", e);
  }

 private:
  std::string describe(const Graph& g, NodeId n, int depth = 0) const;
  // The global whose objects `obj` is one of (the class NEWOBJ or
  // _reconstructor made it from, or the callable REDUCE called), or kNoNode.
  NodeId maker(const Graph& g, NodeId obj, int depth = 0) const;
  // `scanned`: a nested loader whose input the scan read (a bytes argument).
  void check_global(std::string_view module, std::string_view qualname, uint8_t use, const char* what,
                    const TraceEvent& e, bool scanned = false);
  // Scans the bytes arguments of a nested loader's call; false when it has none.
  bool nested(const Graph& g, const TraceEvent& e);
  void add(Verdict sev, std::string rule, std::string category, std::string message, uint64_t offset);
  void step(const char* what, std::string target, const TraceEvent& e);
  // BUILD on an object with a state the loaders read apart when its class
  // has no __setstate__ (which the scan does not know): a loader-difference.
  void falsy_state(const Graph& g, const TraceEvent& e);

  Scanner& s_;
  std::string loc_;
};

struct Scanner {
  const Options& opt;
  Report& report;
  uint32_t depth = 0;
  uint64_t inflated = 0;
  uint64_t members = 0;

  void finding(Verdict sev, std::string rule, std::string category, std::string message, std::string location,
               uint64_t offset) {
    report.verdict = std::max(report.verdict, sev);
    report.findings.push_back(Finding{sev, std::move(rule), std::move(category), std::move(message),
                                      std::move(location), offset});
  }

  DecodeOptions options(Judge& judge) const {
    DecodeOptions o;
    o.limits = opt.limits;
    o.string_encoding = opt.string_encoding;
    o.persistent_ids = PersistentIds::Keep;
    o.trace = &judge;
    o.unpickler = unpickler;
    return o;
  }

  // Which of CPython's unpicklers this reading follows (DecodeOptions::
  // unpickler): stream() reads a stream as each one does.
  Unpickler unpickler = Unpickler::C;
  // Options::on_stream is told of this scanner's streams (not of the
  // second reading of a stream, as the pure-Python unpickler reads it).
  bool tell_streams = true;
  // How a reading of a stream ended.
  struct Outcome {
    size_t pickles = 0;
    bool failed = false;
    uint64_t at = 0;  // where it failed
    std::string error;
    // The pure-Python unpickler may read it otherwise (else its reading is this one).
    bool python_may_differ = false;
  };
  // Another reading of the same bytes, into `r`, on this scanner's budgets
  // (one budget for every reading); budget_back() takes back what it used.
  Scanner again(Report& r) const {
    Scanner s{opt, r};
    s.depth = depth;
    s.inflated = inflated;
    s.members = members;
    s.read_joblib = read_joblib;
    s.joblib_compat = joblib_compat;
    s.tell_streams = tell_streams;
    return s;
  }
  void budget_back(const Scanner& s) {
    inflated = s.inflated;
    members = s.members;
  }
  void loaders_differ(const std::string& loc, const Outcome& c, const Outcome& py, const Report& py_report,
                      size_t first_finding, size_t first_step);

  // joblib's arrays are read (joblib.load); false: the stream is read as
  // pickle.load reads it, array bytes as opcodes.
  bool read_joblib = true;
  // joblib < 0.10's ZF file: its pickle is read by ZipNumpyUnpickler, which
  // knows NDArrayWrapper and ZNDArrayWrapper only (a NumpyArrayWrapper is an
  // ordinary object there, no data follows it).
  bool joblib_compat = false;

  // What joblib.load reads after BUILD on `obj` (scan/joblib.hpp): the bytes
  // passed over, an object array's pickle scanned.
  struct Joblib {
    Skips skips;
    std::unordered_set<NodeId> built;
    detail::Dtypes dtypes;  // version 2 dtypes' flags, fixed at their BUILD
    bool seen = false;
  };
  uint64_t joblib(std::span<const uint8_t> data, const std::string& loc, Judge& judge, FrameWalk& walk, Joblib& st,
                  const Graph& g, NodeId obj, uint64_t next);
  uint64_t object_array(std::span<const uint8_t> d, const std::string& loc);

  // Every pickle of a stream, read as the C unpickler (pickle.loads,
  // pickle.load) reads it and again as the pure-Python one does
  // (pickle._Unpickler; joblib.load's NumpyUnpickler): what either reaches
  // is reported, and where their steps or outcomes part, a
  // loader-difference. `expected`: how many pickles the container holds
  // (the legacy torch format: 5, then raw storages, read by torch.load: the
  // C unpickler only); 0: all of them.
  void stream(std::span<const uint8_t> data, const std::string& loc, bool kept_pids, size_t expected = 0) {
    if (opt.on_stream && tell_streams) opt.on_stream(data, loc, expected);
    const Unpickler own = unpickler;  // a nested stream of the pure-Python reading is read twice too
    unpickler = Unpickler::C;
    const size_t first_finding = report.findings.size(), first_step = report.steps.size();
    const Outcome c = read_stream(data, loc, kept_pids, expected);
    unpickler = own;
    if (expected || !c.python_may_differ) return;
    Report py_report;
    Scanner py = again(py_report);
    py.unpickler = Unpickler::Python;
    py.tell_streams = false;
    const Outcome p = py.read_stream(data, loc, kept_pids, expected);
    budget_back(py);
    loaders_differ(loc, c, p, py_report, first_finding, first_step);
  }

  Outcome read_stream(std::span<const uint8_t> data, const std::string& loc, bool kept_pids, size_t expected) {
    Judge judge(*this, loc);
    DecodeOptions o = options(judge);
    Joblib jl;
    FrameWalk walk(data, jl.skips, 0);
    if (read_joblib)
      o.after_build = [&](const Graph& g, NodeId obj, uint64_t next) {
        return joblib(data, loc, judge, walk, jl, g, obj, next);
      };
    MemorySource src(data);
    Decoder dec(src, o);
    size_t n = 0;
    Outcome outcome;
    // Each pickle's start, and where its loader difference goes among the findings.
    std::vector<std::pair<uint64_t, size_t>> starts;
    bool failed = false;
    for (;;) {
      uint64_t start = dec.offset();
      starts.emplace_back(start, report.findings.size());
      walk = FrameWalk(data, jl.skips, start);
      try {
        auto g = dec.next();
        if (!g) break;
        ++n;
        ++report.pickles;
        if (expected && n == expected) break;
      } catch (const Error& e) {
        failed = true;
        const uint64_t at = e.offset() >= 0 ? static_cast<uint64_t>(e.offset()) : start;
        outcome.at = at;
        outcome.error = e.what();
        if (n == 0) {
          // The first pickle is what pickle.loads reads: it did not load, and
          // what CPython would do after this point is not known.
          finding(Verdict::Error, "load-error", "",
                  std::string("the pickle does not load (") + e.what() +
                      "); steps before it are reported, what follows is not analysed",
                  loc, at);
        } else {
          finding(Verdict::Suspicious, "trailing-data", "",
                  "bytes after pickle " + std::to_string(n) + " (from offset " + std::to_string(start) +
                      ") are not a pickle (" + e.what() + "): pickle.loads ignores them, a reader that "
                      "loads again fails or reads something else",
                  loc, start);
        }
        break;
      }
    }
    // Loader differences, each before the findings of its pickle.
    outcome.python_may_differ = failed;
    FrameWalk resume(data, jl.skips, 0);  // the first pickle whose STOP is inside a FRAME that goes on
    size_t resume_pickle = 0;
    for (auto it = starts.rbegin(); it != starts.rend(); ++it) {
      if (it->first >= data.size()) continue;
      FrameWalk w(data, jl.skips, it->first);
      w.walk(UINT64_MAX);
      outcome.python_may_differ |= !w.stopped || w.python_text;
      if (w.stopped && w.inside_frame() && w.frame_end < data.size()) {
        resume = w;
        resume_pickle = static_cast<size_t>(starts.rend() - it);
      }
      if (w.diff.empty()) continue;
      report.verdict = std::max(report.verdict, Verdict::Suspicious);
      report.findings.insert(report.findings.begin() + static_cast<ptrdiff_t>(it->second),
                             Finding{Verdict::Suspicious, "loader-difference", "", w.diff, loc, w.diff_at});
    }
    if (jl.seen && !jl.skips.empty()) {
      // pickle.load knows no joblib arrays: it reads their bytes as opcodes.
      // What it would import and call from there is reported too (a payload
      // hidden in an "array" for a reader that is not joblib.load).
      const uint64_t from = jl.skips.front().first;
      finding(Verdict::Clean, "joblib-arrays", "",
              "joblib.load reads the data of " + std::to_string(jl.skips.size()) +
                  (jl.skips.size() == 1 ? " array" : " arrays") +
                  " inside this stream, from here on; pickle.load reads those bytes as opcodes",
              loc, from);
      Report plain;
      Scanner other = again(plain);
      other.read_joblib = false;
      other.stream(data, loc, kept_pids, expected);
      budget_back(other);
      std::set<std::pair<std::string, std::string>> known;
      for (const Finding& f : report.findings) known.emplace(f.rule, f.message);
      for (Finding& f : plain.findings)
        if ((f.severity == Verdict::Dangerous && !known.count({f.rule, f.message})) ||
            f.rule == "inflation-limit" || f.rule == "too-many-members" || f.rule == "nesting")  // fail closed
          finding(f.severity, f.rule, f.category, "read as pickle.load reads it: " + f.message, f.location, f.offset);
      // Its steps from the first array on, and those of the nested loaders it
      // reaches there (LOC@OFFSET): what a reader that is not joblib.load calls.
      auto after_from = [&](const std::string& l, uint64_t offset) {
        if (l == loc) return offset >= from;
        if (!l.starts_with(loc) || l.size() < loc.size() + 2 || l[loc.size()] != '@') return false;
        uint64_t at = 0;
        for (size_t i = loc.size() + 1; i < l.size() && l[i] >= '0' && l[i] <= '9'; ++i) at = at * 10 + (l[i] - '0');
        return at >= from;
      };
      for (Step& st : plain.steps)
        if (after_from(st.location, st.offset)) report.steps.push_back(std::move(st));
    }
    if (resume_pickle && unpickler == Unpickler::C && !expected) resume_at_frame_end(data, loc, kept_pids, resume, resume_pickle);
    outcome.pickles = n;
    outcome.failed = failed;
    if (failed) return outcome;
    if (n > 1 && !expected)
      finding(Verdict::Suspicious, "several-pickles", "",
              "the stream holds " + std::to_string(n) +
                  " pickles: pickle.loads reads the first only, a reader that loads repeatedly runs each",
              loc, 0);
    if (n == 0) finding(Verdict::Error, "empty", "", "no pickle in the input", loc, 0);
    (void)kept_pids;
    return outcome;
  }

  // Whether another level of nesting (a container, a stream read again)
  // would go past max_nesting: then a nesting error at `loc`, and no read.
  bool too_deep(const std::string& loc) {
    if (depth <= opt.max_nesting) return false;
    finding(Verdict::Error, "nesting", "", "containers nested deeper than " + std::to_string(opt.max_nesting), loc, 0);
    return true;
  }
  // A pickle whose STOP lies inside a FRAME that goes on: pickle.load on a
  // file that can peek (open()'s) reads the next pickle right after the
  // STOP (the decoder's reading), while the C unpickler on a file that
  // cannot (io.BytesIO) and the pure-Python one read the whole frame and
  // resume at its end. That second reading is scanned too, as the stream
  // at LOC@END, nested like a container (so chains of them are bounded).
  void resume_at_frame_end(std::span<const uint8_t> data, const std::string& loc, bool kept_pids,
                           const FrameWalk& w, size_t pickle) {
    const std::string at = loc + "@" + std::to_string(w.frame_end);
    finding(Verdict::Suspicious, "loader-difference", "",
            "pickle " + std::to_string(pickle) + " ends inside a FRAME that goes on to offset " +
                std::to_string(w.frame_end) + ": pickle.load on a file that can peek reads on right after the "
                "STOP, on one that cannot (io.BytesIO) and the pure-Python unpickler from the frame's end (read "
                "as " + at + ")",
            loc, w.p - 1);
    if (too_deep(at)) return;
    ++depth;
    stream(data.subspan(static_cast<size_t>(w.frame_end)), at, kept_pids);
    --depth;
  }

  // .npy: the header, then an object array's pickle (numpy.load(allow_pickle=True)).
  void npy(std::span<const uint8_t> d, const std::string& loc) {
    if (d.size() < 10) {
      finding(Verdict::Error, "bad-npy", "", "truncated .npy header", loc, 0);
      return;
    }
    const int major = d[6];
    size_t hl, start;
    if (major == 1) {
      hl = d[8] | (size_t{d[9]} << 8);
      start = 10;
    } else {
      if (d.size() < 12) {
        finding(Verdict::Error, "bad-npy", "", "truncated .npy header", loc, 0);
        return;
      }
      hl = d[8] | (size_t{d[9]} << 8) | (size_t{d[10]} << 16) | (size_t{d[11]} << 24);
      start = 12;
    }
    if (start + hl > d.size()) {
      finding(Verdict::Error, "bad-npy", "", ".npy header longer than the file", loc, 0);
      return;
    }
    std::string_view header(reinterpret_cast<const char*>(d.data()) + start, hl);
    auto descr = header.find("'descr':");
    auto end = header.find(',', descr == std::string_view::npos ? 0 : descr);
    std::string_view dt = descr == std::string_view::npos ? header : header.substr(descr, end - descr);
    if (dt.find('O') != std::string_view::npos || descr == std::string_view::npos) {
      // numpy.load pickles object arrays: the pickle follows the header.
      stream(d.subspan(start + hl), loc + "#array", false, 1);
    }
  }

  void blob(std::span<const uint8_t> d, const std::string& loc);
  void inflate_zlib(std::span<const uint8_t> d, const std::string& loc);
  bool inflate_stream(std::span<const uint8_t> d, uint64_t base, const std::string& loc, const std::string& eloc,
                      std::vector<uint8_t>& out, bool& ended);
  void zfile(std::span<const uint8_t> d, const std::string& loc);
  void zip(std::span<const uint8_t> d, const std::string& loc);
  void zip_readers_agree(std::span<const uint8_t> d, const std::string& loc);
  void unwrap(std::span<const uint8_t> d, const std::string& loc, const char* kind);
};

void Scanner::loaders_differ(const std::string& loc, const Outcome& c, const Outcome& py, const Report& pr,
                             size_t first_finding, size_t first_step) {
  auto key = [](const Step& s) { return std::tie(s.what, s.target, s.opcode, s.location, s.offset); };
  // This stream's own steps in each reading, in order, up to where they part.
  std::vector<const Step*> cs, ps;
  for (size_t k = first_step; k < report.steps.size(); ++k)
    if (report.steps[k].location == loc) cs.push_back(&report.steps[k]);
  for (const Step& s : pr.steps)
    if (s.location == loc) ps.push_back(&s);
  size_t i = 0;
  while (i < cs.size() && i < ps.size() && key(*cs[i]) == key(*ps[i])) ++i;
  const bool same_steps = i == cs.size() && i == ps.size();
  const bool same_end = c.failed == py.failed && c.pickles == py.pickles && (!c.failed || c.at == py.at);
  const bool differ = !same_steps || !same_end;
  auto side = [&](const std::vector<const Step*>& steps, const Outcome& o) -> std::string {
    if (i < steps.size())
      return "goes on: " + steps[i]->what + " " + steps[i]->target + " (" + steps[i]->opcode + " at offset " +
             std::to_string(steps[i]->offset) + ")";
    if (o.failed) return "stops: " + o.error;
    return "loads " + std::to_string(o.pickles) + (o.pickles == 1 ? " pickle" : " pickles");
  };
  uint64_t where = UINT64_MAX;
  if (i < cs.size()) where = cs[i]->offset;
  if (i < ps.size()) where = std::min(where, ps[i]->offset);
  if (where == UINT64_MAX) where = std::min(c.failed ? c.at : UINT64_MAX, py.failed ? py.at : UINT64_MAX);
  if (where == UINT64_MAX) where = 0;
  // The message now: `cs` points into report.steps, which grows below.
  const std::string alike = i ? " (after " + std::to_string(i) + (i == 1 ? " step" : " steps") + " alike)" : "";
  const std::string message = !differ ? "" :
      "CPython's loaders part here" + alike + ": the C unpickler (pickle.loads, pickle.load) " + side(cs, c) +
      "; the pure-Python unpickler (pickle._Unpickler, joblib.load) " + side(ps, py);
  // What the pure-Python reading reaches that the C one does not: its
  // findings (how it ends is told by the difference below) and steps.
  std::set<std::tuple<std::string, std::string, std::string, uint64_t>> known;
  for (size_t k = first_finding; k < report.findings.size(); ++k) {
    const Finding& f = report.findings[k];
    known.emplace(f.rule, f.message, f.location, f.offset);
  }
  for (const Finding& f : pr.findings) {
    const bool how_it_ends = f.location == loc && (f.rule == "load-error" || f.rule == "trailing-data" ||
                                                   f.rule == "several-pickles" || f.rule == "empty");
    if (how_it_ends || known.count({f.rule, f.message, f.location, f.offset})) continue;
    finding(f.severity, f.rule, f.category, "read as the pure-Python unpickler reads it: " + f.message, f.location,
            f.offset);
  }
  std::set<std::tuple<std::string, std::string, std::string, std::string, uint64_t>> seen;
  for (size_t k = first_step; k < report.steps.size(); ++k) {
    const Step& s = report.steps[k];
    seen.emplace(s.what, s.target, s.opcode, s.location, s.offset);
  }
  for (const Step& s : pr.steps)
    if (!seen.count({s.what, s.target, s.opcode, s.location, s.offset})) report.steps.push_back(s);
  if (!differ) return;
  report.verdict = std::max(report.verdict, Verdict::Suspicious);
  report.findings.insert(
      report.findings.begin() + static_cast<ptrdiff_t>(first_finding),
      Finding{Verdict::Suspicious, "loader-difference", "", message, loc, where});
}

uint32_t le32(const uint8_t* p) { return p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24); }
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

// PyTorch's reader (miniz) and Python's zipfile both list an archive's
// members from its central directory, but zipfile also requires each
// member's local header to carry the same name, and streaming readers
// (unzip -, libarchive's stream mode) see the local headers only. A local
// header that differs from its central entry, or local members the central
// directory does not list, make readers disagree: a finding.
void Scanner::zip_readers_agree(std::span<const uint8_t> d, const std::string& loc) {
  const size_t n = d.size();
  if (n < 22) return;
  size_t eocd = std::string::npos;
  for (size_t i = n - 22 + 1; i-- > 0 && n - i <= 22 + 65535;)
    if (d[i] == 'P' && d[i + 1] == 'K' && d[i + 2] == 5 && d[i + 3] == 6) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) return;
  const uint16_t count = le16(&d[eocd + 10]);
  uint64_t cd = le32(&d[eocd + 16]);
  if (count == 0xffff || cd == 0xffffffffu) return;  // zip64: libzip's reading stands alone
  std::set<uint64_t> local_offsets;
  for (uint16_t k = 0; k < count; ++k) {
    if (cd + 46 > n || le32(&d[cd]) != 0x02014b50u) return;
    const uint16_t nl = le16(&d[cd + 28]), xl = le16(&d[cd + 30]), cl = le16(&d[cd + 32]);
    const uint64_t lo = le32(&d[cd + 42]);
    if (cd + 46 + nl > n) return;
    std::string_view cname(reinterpret_cast<const char*>(&d[cd + 46]), nl);
    local_offsets.insert(lo);
    if (lo + 30 > n || le32(&d[lo]) != 0x04034b50u) {
      finding(Verdict::Suspicious, "zip-disagreement", "",
              "the central directory's member " + std::string(cname) + " has no local header at its offset", loc, lo);
    } else {
      const uint16_t lnl = le16(&d[lo + 26]);
      std::string_view lname(reinterpret_cast<const char*>(&d[lo + 30]), std::min<size_t>(lnl, n - lo - 30));
      if (lname != cname)
        finding(Verdict::Suspicious, "zip-disagreement", "",
                "member " + std::string(cname) + " has the local name " + std::string(lname) +
                    ": PyTorch reads it, Python's zipfile refuses it",
                loc, lo);
    }
    cd += 46 + nl + xl + cl;
  }
  // Local headers one after the other from the start (stored sizes known).
  uint64_t at = 0;
  while (at + 30 <= n && le32(&d[at]) == 0x04034b50u) {
    const uint16_t flags = le16(&d[at + 6]), nl = le16(&d[at + 26]), xl = le16(&d[at + 28]);
    const uint64_t csize = le32(&d[at + 18]);
    if (!local_offsets.count(at)) {
      std::string_view lname(reinterpret_cast<const char*>(&d[at + 30]), std::min<size_t>(nl, n - at - 30));
      finding(Verdict::Suspicious, "zip-disagreement", "",
              "a local member " + std::string(lname) +
                  " that the central directory does not list: streaming readers see it, PyTorch and zipfile do not",
              loc, at);
      const uint16_t method = le16(&d[at + 8]);
      if (method == 0 && at + 30 + nl + xl + csize <= n)
        blob(d.subspan(at + 30 + nl + xl, csize), (loc.empty() ? "" : loc + "/") + "(local)" + std::string(lname));
    }
    if (flags & 8) break;  // sizes in a data descriptor: the walk cannot go on
    at += 30 + nl + xl + csize;
  }
}

bool starts_with(std::span<const uint8_t> d, std::string_view magic) {
  return d.size() >= magic.size() && std::memcmp(d.data(), magic.data(), magic.size()) == 0;
}

void Scanner::blob(std::span<const uint8_t> d, const std::string& loc) {
  if (too_deep(loc)) return;
  ++depth;
  if (starts_with(d, "PK\x03\x04") || starts_with(d, "PK\x05\x06")) {
    if (report.container.empty()) report.container = "zip";
    zip(d, loc);
  } else if (starts_with(d, "\x1f\x8b")) {
    unwrap(d, loc, "gzip");
  } else if (starts_with(d, "BZh")) {
    unwrap(d, loc, "bzip2");
  } else if (starts_with(d, std::string_view("\xfd" "7zXZ\x00", 6))) {
    unwrap(d, loc, "xz");
  } else if (starts_with(d, "7z\xbc\xaf\x27\x1c")) {
    unwrap(d, loc, "7z");
  } else if (d.size() >= 2 && d[0] == 0x78 && ((d[0] << 8) | d[1]) % 31 == 0) {
    inflate_zlib(d, loc);  // joblib's default compression (0x78: 'x' is no opcode)
  } else if (starts_with(d, "ZF")) {
    zfile(d, loc);  // joblib < 0.10's single file ('Z' is no opcode)
  } else if (starts_with(d, std::string_view("\x5d\x00\x00", 3))) {
    unwrap(d, loc, "lzma");  // joblib's compress='lzma' (.lzma, LZMA alone)
  } else if (starts_with(d, "\x04\x22\x4d\x18")) {
    unwrap(d, loc, "lz4");  // joblib's compress='lz4' (an LZ4 frame)
  } else if (d.size() >= 262 && std::memcmp(d.data() + 257, "ustar", 5) == 0) {
    unwrap(d, loc, "tar");
  } else if (starts_with(d, "\x93NUMPY")) {
    if (report.container.empty()) report.container = "npy";
    npy(d, loc);
  } else if (torch::Checkpoint::looks_like_checkpoint(d.subspan(0, std::min<size_t>(d.size(), 64)))) {
    // torch.save's legacy format: magic, protocol, system info, the data
    // pickle, the storage keys; then raw storages that torch reads as bytes.
    if (report.container.empty()) report.container = "torch-legacy";
    stream(d, loc, true, 5);
  } else {
    if (report.container.empty()) report.container = "pickle";
    stream(d, loc, false);
  }
  --depth;
}

// A compressed stream or an archive, through libarchive: each entry (the
// one decompressed stream of gzip, bz2 or xz) inflated within the budget
// and scanned as a file of its own.
void Scanner::unwrap(std::span<const uint8_t> d, const std::string& loc, const char* kind) {
  if (report.container.empty()) report.container = kind;
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  archive_read_support_format_raw(a.get());  // a compressed file that is no archive
  if (archive_read_open_memory(a.get(), d.data(), d.size()) != ARCHIVE_OK) {
    finding(Verdict::Error, "bad-archive", "", std::string(kind) + " input that cannot be read: " +
                                                   (archive_error_string(a.get()) ? archive_error_string(a.get()) : "?"),
            loc, 0);
    return;
  }
  archive_entry* e;
  for (;;) {
    const int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      finding(Verdict::Error, "bad-archive", "", std::string(kind) + ": " +
                                                     (archive_error_string(a.get()) ? archive_error_string(a.get()) : "?"),
              loc, 0);
      return;
    }
    if (++members > opt.max_members) {
      finding(Verdict::Error, "too-many-members", "", "more than " + std::to_string(opt.max_members) + " members",
              loc, 0);
      return;
    }
    if (archive_entry_filetype(e) != AE_IFREG && archive_entry_filetype(e) != 0) continue;
    const char* name = archive_entry_pathname(e);
    const std::string eloc = (loc.empty() ? "" : loc + "/") +
                             (name && std::string_view(name) != "data" ? std::string(name) : "(" + std::string(kind) + ")");
    std::vector<uint8_t> buf;
    uint8_t chunk[65536];
    for (;;) {
      const la_ssize_t r = archive_read_data(a.get(), chunk, sizeof chunk);
      if (r == 0) break;
      if (r < 0) {
        finding(Verdict::Error, "bad-archive", "", std::string(kind) + ": " +
                                                       (archive_error_string(a.get()) ? archive_error_string(a.get()) : "?"),
                eloc, 0);
        return;
      }
      if (inflated + static_cast<uint64_t>(r) > opt.max_inflated_bytes) {
        finding(Verdict::Error, "inflation-limit", "",
                "inflating the input exceeds " + std::to_string(opt.max_inflated_bytes) + " bytes (a bomb?)", eloc, 0);
        return;
      }
      inflated += static_cast<uint64_t>(r);
      buf.insert(buf.end(), chunk, chunk + r);
    }
    blob(buf, eloc);
  }
}

// A zlib stream inflated within the budget into `out`; false (a finding
// made) when it is corrupt or goes over the budget. `ended`: the stream's
// end was reached (else the input ended first); bytes after the end are
// trailing-data. `base`: where `d` begins in `loc`.
bool Scanner::inflate_stream(std::span<const uint8_t> d, uint64_t base, const std::string& loc, const std::string& eloc,
                             std::vector<uint8_t>& out, bool& ended) {
  ended = false;
  z_stream z{};
  if (inflateInit(&z) != Z_OK) {
    finding(Verdict::Error, "bad-archive", "", "zlib cannot start", loc, base);
    return false;
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  uint8_t chunk[65536];
  size_t in_at = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    const size_t feed = std::min<size_t>(d.size() - in_at, 1u << 30);
    z.next_in = const_cast<Bytef*>(d.data() + in_at);
    z.avail_in = static_cast<uInt>(feed);
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    in_at += feed - z.avail_in;
    const size_t got = sizeof chunk - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && got == 0 && in_at == d.size())) {
      finding(Verdict::Error, "bad-archive", "", std::string("zlib: ") + (z.msg ? z.msg : "a corrupt stream"), loc,
              base + in_at);
      return false;
    }
    if (inflated + got > opt.max_inflated_bytes) {
      finding(Verdict::Error, "inflation-limit", "",
              "inflating the input exceeds " + std::to_string(opt.max_inflated_bytes) + " bytes (a bomb?)", eloc, 0);
      return false;
    }
    inflated += got;
    out.insert(out.end(), chunk, chunk + got);
    if (got == 0 && in_at == d.size() && rc != Z_STREAM_END) return true;  // cut short
  }
  ended = true;
  if (in_at < d.size())
    finding(Verdict::Suspicious, "trailing-data", "",
            std::to_string(d.size() - in_at) + " bytes after the end of the zlib stream", loc, base + in_at);
  return true;
}

// A bare zlib stream (joblib's compress=3, its default): inflated within the
// budget as joblib's BinaryZlibFile does (a stream cut short gives what it
// holds), and scanned as a file of its own.
void Scanner::inflate_zlib(std::span<const uint8_t> d, const std::string& loc) {
  if (report.container.empty()) report.container = "zlib";
  const std::string eloc = (loc.empty() ? "" : loc + "/") + "(zlib)";
  std::vector<uint8_t> buf;
  bool ended = false;
  if (inflate_stream(d, 0, loc, eloc, buf, ended)) blob(buf, eloc);
}

// joblib < 0.10's single file, as joblib.load reads it (load_compatibility):
// the header (scan/joblib.hpp), the zlib stream inflated whole as
// zlib.decompress does (a stream cut short fails, bytes after its end are
// ignored), the length checked as read_zfile's assert does, then the pickle
// read by ZipNumpyUnpickler: one pickle, no content sniffing.
void Scanner::zfile(std::span<const uint8_t> d, const std::string& loc) {
  if (report.container.empty()) report.container = "joblib-zfile";
  const detail::ZFile z = detail::zfile_header(d);
  if (!z.problem.empty()) {
    finding(Verdict::Error, "bad-joblib", "", "joblib < 0.10's ZF header: " + z.problem + "; joblib.load fails here",
            loc, 2);
    return;
  }
  // zlib.decompress allocates the stated length at once.
  if (z.length > opt.max_inflated_bytes - inflated) {
    finding(Verdict::Error, "inflation-limit", "",
            "the ZF header states a pickle of " + (z.length == UINT64_MAX ? std::string("over 2^64") : std::to_string(z.length)) +
                " bytes: inflating it exceeds " + std::to_string(opt.max_inflated_bytes) + " bytes (a bomb?)",
            loc, 2);
    return;
  }
  const std::string eloc = (loc.empty() ? "" : loc + "/") + "(zfile)";
  std::vector<uint8_t> buf;
  bool ended = false;
  if (!inflate_stream(d.subspan(z.data_at), z.data_at, loc, eloc, buf, ended)) return;
  if (!ended) {
    finding(Verdict::Error, "bad-joblib", "",
            "the ZF file's zlib stream is cut short: zlib.decompress fails and joblib.load reads nothing", loc, d.size());
    return;
  }
  if (buf.size() != z.length)  // python -O skips the assert and loads it: read on
    finding(Verdict::Error, "bad-joblib", "",
            "the ZF header states " + std::to_string(z.length) + " bytes, the stream holds " +
                std::to_string(buf.size()) + ": read_zfile's assert refuses the file (python -O loads it: read below)",
            loc, 2);
  const bool was = joblib_compat;
  joblib_compat = true;
  stream(buf, eloc, false);
  joblib_compat = was;
}

uint64_t Scanner::joblib(std::span<const uint8_t> data, const std::string& loc, Judge& judge, FrameWalk& walk,
                         Joblib& st, const Graph& g, NodeId obj, uint64_t next) {
  if (g.kind(obj) != Kind::Object) return 0;
  auto fail = [&](const std::string& what, const std::string& why) -> uint64_t {
    finding(Verdict::Error, "bad-joblib", "",
            what + ": " + why + "; joblib.load may read data here, what follows is not analysed", loc, next);
    throw Error(ErrorCode::ValueError, "a joblib array the scan cannot place", static_cast<int64_t>(next));
  };
  if (!joblib_compat)
    if (std::string why = detail::dtype_built(g, obj, st.dtypes); !why.empty()) return fail("numpy.dtype", why);
  const detail::JoblibArray a = detail::joblib_array(g, obj, st.dtypes);
  // setattr(obj, '__class__', cls) by BUILD's slot state: the object may
  // become one of joblib's wrappers, whose data then follows.
  const ObjectData& od = g.object_data(obj);
  if (od.state != kNoNode && g.kind(od.state) == Kind::Tuple && g.length(od.state) == 2 &&
      g.kind(g.items(od.state)[1]) == Kind::Dict)
    for (const Pair& p : g.dict_items(g.items(od.state)[1]))
      if (g.kind(p.first) == Kind::Str && g.as_str(p.first) == "__class__")
        return fail("BUILD sets an object's __class__", "what it becomes is not known");
  if (a.kind == detail::JoblibArray::None) return 0;
  st.seen = true;
  if (report.container == "pickle") report.container = "joblib";
  if (a.kind == detail::JoblibArray::External) {
    finding(Verdict::Dangerous, "joblib-external-file", "file-io",
            a.cls + " receives BUILD: joblib.load reads this array from another file the pickle names "
                    "(numpy.load with allow_pickle=True for NDArrayWrapper), which the scan does not see",
            loc, next);
    return 0;
  }
  if (joblib_compat) return 0;  // ZipNumpyUnpickler: a NumpyArrayWrapper is an ordinary object
  if (!a.problem.empty()) return fail(a.cls, a.problem);
  if (!st.built.insert(obj).second) return fail(a.cls, "the wrapper receives BUILD again (its attributes accumulate)");
  if (!walk.walk(next) || walk.p != next) return fail(a.cls, "the opcodes before this BUILD cannot be walked");
  if (walk.inside_frame())
    return fail(a.cls, "the BUILD is inside a FRAME that goes on: joblib reads the array from after the frame");
  if (a.subclass != kNoNode) judge.joblib_subclass(g, a.subclass, next);
  uint64_t n;
  if (a.object) {
    n = object_array(data.subspan(static_cast<size_t>(next)), loc + "#array@" + std::to_string(next));
  } else {
    const uint64_t left = data.size() - next;
    const uint64_t pad = a.padded ? (left ? 1 + uint64_t{data[static_cast<size_t>(next)]} : 1) : 0;
    if (pad > left || a.data_bytes > left - pad)
      return fail(a.cls, "the array needs " + std::to_string(pad + a.data_bytes) + " bytes, " +
                             std::to_string(left) + " follow");
    n = pad + a.data_bytes;
  }
  st.skips.emplace_back(next, next + n);
  return n;
}

// An object array's data: the pickle joblib wrote with pickle.dump, which
// joblib.load reads with pickle.load (the C unpickler, which knows no
// wrappers) from the same file. -> its length.
uint64_t Scanner::object_array(std::span<const uint8_t> d, const std::string& loc) {
  if (opt.on_stream && tell_streams) opt.on_stream(d, loc, 1);
  Judge judge(*this, loc);
  DecodeOptions o = options(judge);
  o.unpickler = Unpickler::C;
  MemorySource src(d);
  Decoder dec(src, o);
  try {
    if (!dec.next()) throw Error(ErrorCode::Truncated, "the input ends where an object array's pickle begins");
  } catch (const Error& e) {
    finding(Verdict::Error, "load-error", "", std::string("an object array's pickle does not load (") + e.what() + ")",
            loc, e.offset() >= 0 ? static_cast<uint64_t>(e.offset()) : 0);
    throw;
  }
  ++report.pickles;
  const uint64_t used = dec.offset();
  // The C unpickler reads a FRAME whole: a STOP inside one leaves the file after the frame.
  const Skips none;
  FrameWalk w(d, none, 0);
  w.walk(used);
  if (w.inside_frame()) {
    finding(Verdict::Error, "bad-joblib", "",
            "an object array's pickle ends inside a FRAME: where joblib.load goes on is not known", loc, used);
    throw Error(ErrorCode::ValueError, "a joblib array the scan cannot place");
  }
  return used;
}

void Scanner::zip(std::span<const uint8_t> d, const std::string& loc) {
  zip_readers_agree(d, loc);
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(d.data(), d.size(), 0, &err);
  zip_t* z = src ? zip_open_from_source(src, ZIP_RDONLY, &err) : nullptr;
  if (!z) {
    if (src) zip_source_free(src);
    finding(Verdict::Error, "bad-zip", "",
            std::string("a zip archive that cannot be read: ") + zip_error_strerror(&err), loc, 0);
    zip_error_fini(&err);
    return;
  }
  zip_error_fini(&err);
  std::unique_ptr<zip_t, int (*)(zip_t*)> guard(z, zip_close);
  const zip_int64_t n = zip_get_num_entries(z, 0);
  bool torch_zip = false, torchscript = false;
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(z, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
    std::string_view nm = name ? name : "";
    if (nm.ends_with("/data.pkl") || nm == "data.pkl") torch_zip = true;
    if (nm.find("/code/") != std::string_view::npos || nm.ends_with("constants.pkl")) torchscript = true;
  }
  if (torch_zip && report.container == "zip") report.container = "torch-zip";
  if (torchscript)
    finding(Verdict::Suspicious, "torchscript", "code-exec",
            "a TorchScript archive: its code/ members are programs that torch.jit.load compiles and runs", loc, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    if (++members > opt.max_members) {
      finding(Verdict::Error, "too-many-members", "", "more than " + std::to_string(opt.max_members) + " members",
              loc, 0);
      return;
    }
    zip_stat_t st;
    if (zip_stat_index(z, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW, &st) != 0) continue;
    std::string mloc = (loc == "-" || loc.empty() ? "" : loc + "/") + std::string(st.name ? st.name : "?");
    if (st.name && std::string_view(st.name).ends_with("/")) continue;
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0),
                                                        zip_fclose);
    if (!f) {
      finding(Verdict::Error, "bad-member", "", std::string("member cannot be read: ") + zip_strerror(z), mloc, 0);
      continue;
    }
    uint8_t head[8] = {};
    const zip_int64_t got = zip_fread(f.get(), head, sizeof head);
    if (got < 0) {
      finding(Verdict::Error, "bad-member", "", "member cannot be inflated", mloc, 0);
      continue;
    }
    std::span<const uint8_t> h(head, static_cast<size_t>(got));
    std::string_view nm(st.name);
    const bool pickle_named = nm.ends_with(".pkl");
    const bool pickle_like = got >= 2 && head[0] == op::PROTO && head[1] <= 5;
    const bool nested = starts_with(h, "\x93NUMPY") || starts_with(h, "PK\x03\x04");
    if (!pickle_named && !pickle_like && !nested) continue;  // tensor data, version records
    // Read the member whole, within the inflation budget.
    const uint64_t size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
    if (inflated + size > opt.max_inflated_bytes) {
      finding(Verdict::Error, "inflation-limit", "",
              "inflating the archive exceeds " + std::to_string(opt.max_inflated_bytes) + " bytes", mloc, 0);
      return;
    }
    std::vector<uint8_t> buf(head, head + got);
    buf.resize(static_cast<size_t>(std::max<uint64_t>(size, static_cast<uint64_t>(got))));
    size_t have = static_cast<size_t>(got);
    while (have < buf.size()) {
      const zip_int64_t r = zip_fread(f.get(), buf.data() + have, buf.size() - have);
      if (r <= 0) break;
      have += static_cast<size_t>(r);
    }
    buf.resize(have);
    inflated += have;
    blob(buf, mloc);
  }
}

// ---- the judge -----------------------------------------------------------------

std::string Judge::describe(const Graph& g, NodeId n, int depth) const {
  if (n == kNoNode) return "?";
  switch (g.kind(n)) {
    case Kind::Global: return g.global_data(n).module + "." + g.global_data(n).qualname;
    case Kind::Object: {
      if (depth > 4) return "<result of a call>";
      const ObjectData& od = g.object_data(n);
      return "<result of " + describe(g, od.callable, depth + 1) + "(...)>";
    }
    case Kind::PersId: return "<persistent object>";
    default: return std::string("<") + kind_name(g.kind(n)) + ">";
  }
}

NodeId Judge::maker(const Graph& g, NodeId obj, int depth) const {
  if (depth > 8 || g.kind(obj) != Kind::Object) return kNoNode;
  const ObjectData& od = g.object_data(obj);
  if (g.kind(od.callable) == Kind::Global) {
    const GlobalData& gd = g.global_data(od.callable);
    const bool via_class = (gd.module == "copyreg" && (gd.qualname == "__newobj__" || gd.qualname == "__newobj_ex__" ||
                                                        gd.qualname == "_reconstructor"));
    if (via_class && g.length(od.args) > 0) {
      const NodeId cls = g.items(od.args)[0];
      return g.kind(cls) == Kind::Global ? cls : kNoNode;
    }
    return od.callable;
  }
  return maker(g, od.callable, depth + 1);
}

void Judge::add(Verdict sev, std::string rule, std::string category, std::string message, uint64_t offset) {
  s_.finding(sev, std::move(rule), std::move(category), std::move(message), loc_, offset);
}

void Judge::step(const char* what, std::string target, const TraceEvent& e) {
  s_.report.steps.push_back(Step{what, std::move(target), op_name(e.opcode), loc_, e.offset});
}

void Judge::falsy_state(const Graph& g, const TraceEvent& e) {
  // Python's truth of a state that is neither a dict nor None: the C
  // unpickler refuses any ("state is not a dictionary"), the pure-Python one
  // passes over a falsy one (`if state:`) and goes on.
  auto falsy = [&](NodeId n) { return g.kind(n) != Kind::Dict && g.kind(n) != Kind::None && !g.truthy(n); };
  NodeId state = e.args, slots = kNoNode;
  if (g.kind(state) == Kind::Tuple && g.length(state) == 2) {
    slots = g.items(state)[1];
    state = g.items(state)[0];
  }
  const bool slot_none = slots != kNoNode && g.kind(slots) == Kind::None;
  if (!falsy(state) && !(slots != kNoNode && (falsy(slots) || slot_none))) return;
  add(Verdict::Suspicious, "loader-difference", "",
      "BUILD with a " + std::string(slot_none ? "None slot state" : "falsy state that is not a dict") + " on " +
          describe(g, e.target) +
          ": if its class has no __setstate__, the C unpickler (pickle.loads, pickle.load) stops here (state is not "
          "a dictionary) and the pure-Python unpickler (pickle._Unpickler, joblib.load) passes over it and goes on",
      e.offset);
}

void Judge::check_global(std::string_view module, std::string_view qualname, uint8_t use, const char* what,
                         const TraceEvent& e, bool scanned) {
  const std::string name = std::string(module) + "." + std::string(qualname);
  const uint8_t allowed = s_.opt.policy.uses(module, qualname);
  if ((allowed & use) == use) return;  // the allowlist says it may
  // Naming a public attribute of an allowlisted class (an enum member, a
  // nested class) only reads it; calling it needs an entry of its own.
  if (use == kImport && !allowed) {
    const size_t dot = qualname.rfind('.');
    if (dot != std::string_view::npos && dot + 1 < qualname.size() && qualname[dot + 1] != '_' &&
        s_.opt.policy.uses(module, qualname.substr(0, dot)) && !detail::danger_of(module, qualname))
      return;
  }
  if (const detail::Danger* d = detail::danger_of(module, qualname)) {
    // A nested loader is judged by what it loads: when the scan read its
    // input (a bytes literal), what that input does is reported from there.
    if (std::string_view(d->category) == "nested-load" && (use == kImport || scanned)) {
      add(Verdict::Suspicious, "nested-load", d->category,
          name + " " + what + (scanned ? " on bytes the scan read (findings below at this offset)" : "") + ": " +
              d->why,
          e.offset);
      return;
    }
    add(d->severity, d->severity == Verdict::Dangerous ? "dangerous-callable" : "reflection", d->category,
        name + " " + what + ": " + d->why, e.offset);
    return;
  }
  add(Verdict::Unknown, "not-allowlisted", "",
      name + " " + what + (allowed ? " (the allowlist lists it for other uses)" : " (not in the allowlist)"),
      e.offset);
}

bool Judge::nested(const Graph& g, const TraceEvent& e) {
  // A loader called on a bytes literal: scan those bytes as the file it would read.
  if (g.kind(e.args) != Kind::Tuple || g.length(e.args) != 1) return false;
  const NodeId a = g.items(e.args)[0];
  if (g.kind(a) != Kind::Bytes && g.kind(a) != Kind::ByteArray) return false;
  std::string_view b = g.as_bytes(a);
  std::vector<uint8_t> copy(b.begin(), b.end());
  s_.blob(copy, loc_ + "@" + std::to_string(e.offset));
  return true;
}

void Judge::on_event(const TraceEvent& e, const Graph& g) {
  switch (e.kind) {
    case TraceKind::Global: {
      step("import", std::string(e.module) + "." + std::string(e.qualname), e);
      check_global(e.module, e.qualname, kImport, "is imported", e);
      if (e.ext_code)
        add(Verdict::Suspicious, "extension-code", "",
            "an extension code (" + std::to_string(e.ext_code) + ") names the global: copyreg's registry decides it",
            e.offset);
      break;
    }
    case TraceKind::Getattr: {
      const std::string name = std::string(e.module) + "." + std::string(e.qualname);
      step("getattr", name, e);
      check_global(e.module, e.qualname, kImport, "is reached by getattr", e);
      break;
    }
    case TraceKind::Call: {
      const bool no_args = g.kind(e.args) == Kind::Tuple && g.length(e.args) == 0;
      const bool is_new = e.opcode == op::NEWOBJ || e.opcode == op::NEWOBJ_EX ||
                          ((e.opcode == op::INST || e.opcode == op::OBJ) && no_args);
      step(is_new ? "new" : "call", describe(g, e.target), e);
      if (g.kind(e.target) == Kind::Global) {
        const GlobalData& gd = g.global_data(e.target);
        const uint8_t use = is_new ? ((e.opcode == op::INST || e.opcode == op::OBJ) ? kClass : kClass) : kCall;
        // INST/OBJ without arguments call a function that is not a class: either use allows it.
        if (is_new && (e.opcode == op::INST || e.opcode == op::OBJ) &&
            (s_.opt.policy.uses(gd.module, gd.qualname) & kCall))
          break;
        // getattr(global, 'name') is a nested name, judged by its Getattr step.
        if (gd.module == "builtins" && gd.qualname == "getattr" && g.length(e.args) == 2 &&
            g.kind(g.items(e.args)[0]) == Kind::Global && g.kind(g.items(e.args)[1]) == Kind::Str) {
          const GlobalData& base = g.global_data(g.items(e.args)[0]);
          const std::string q = base.qualname + "." + std::string(g.as_str(g.items(e.args)[1]));
          if (base.module == "builtins") check_global(base.module, q, kImport, "is reached by getattr", e);
          if (s_.opt.policy.uses(gd.module, gd.qualname) & kCall) break;
        }
        const detail::Danger* d = detail::danger_of(gd.module, gd.qualname);
        const bool scanned = d && std::string_view(d->category) == "nested-load" && !is_new && nested(g, e);
        check_global(gd.module, gd.qualname, use, is_new ? "is instantiated" : "is called", e, scanned);
      } else if (g.kind(e.target) == Kind::Object) {
        add(Verdict::Suspicious, "call-on-result", "reflection",
            "a call on the result of a call: " + describe(g, e.target) +
                " is called (what runs depends on what that call returned)",
            e.offset);
      }
      break;
    }
    case TraceKind::Build:
    case TraceKind::Method: {
      const bool build = e.kind == TraceKind::Build;
      const std::string what = build ? "BUILD (__setstate__ or attributes)" : "." + std::string(e.name) + "()";
      step(build ? "build" : "method", describe(g, e.target) + (build ? "" : "." + std::string(e.name)), e);
      if (g.kind(e.target) == Kind::Global) {
        const GlobalData& gd = g.global_data(e.target);
        add(Verdict::Dangerous, "mutates-global", "interpreter-state",
            gd.module + "." + gd.qualname + " receives " + what +
                ": a module-level object changed in the loading process (sys.path, os.environ, a class)",
            e.offset);
      } else if (g.kind(e.target) == Kind::Object) {
        const NodeId m = maker(g, e.target);
        // An allowlisted class is trusted to take its state (its __setstate__).
        if (build && (m == kNoNode || !(s_.opt.policy.uses(g.global_data(m).module, g.global_data(m).qualname) & kBuild)))
          falsy_state(g, e);
        if (m == kNoNode) {
          add(Verdict::Suspicious, "build-on-result", "reflection",
              describe(g, e.target) + " receives " + what + " (an object no allowlisted class made)", e.offset);
        } else {
          const GlobalData& gd = g.global_data(m);
          check_global(gd.module, gd.qualname, kBuild, build ? "objects receive BUILD" : "objects get item calls", e);
        }
      } else if (g.kind(e.target) == Kind::PersId) {
        add(Verdict::Unknown, "build-on-persistent", "", "a persistent object receives " + what, e.offset);
      }
      break;
    }
    case TraceKind::PersistentLoad:
      step("persistent_load", "pid", e);
      break;
  }
}

}  // namespace

Report scan_bytes(std::span<const uint8_t> data, const Options& options, const std::string& path) {
  Report r;
  r.path = path;
  Scanner s{options, r};
  try {
    s.blob(data, "");
  } catch (const Error& e) {
    s.finding(Verdict::Error, "scan-error", "", std::string("the scan stopped: ") + e.what(), "", 0);
  } catch (const std::bad_alloc&) {
    s.finding(Verdict::Error, "scan-error", "", "the scan ran out of memory", "", 0);
  }
  // A dangerous call outranks the failure to read what follows it; any other
  // finding with an error is an error (fail closed).
  bool dangerous = false, error = false;
  for (const Finding& f : r.findings) {
    dangerous |= f.severity == Verdict::Dangerous;
    error |= f.severity == Verdict::Error;
  }
  if (error) r.verdict = dangerous ? Verdict::Dangerous : Verdict::Error;
  return r;
}

Report scan_file(const std::string& path, const Options& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  Report r;
  r.path = path;
  auto fail = [&](const std::string& why) {
    r.verdict = Verdict::Error;
    r.findings.push_back(Finding{Verdict::Error, "unreadable", "", why + ": " + std::strerror(errno), "", 0});
    return r;
  };
  if (fd < 0) return fail("cannot open");
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return fail("cannot stat");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return scan_bytes({}, options, path);
  }
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return fail("cannot map");
  Report out = scan_bytes(std::span<const uint8_t>(static_cast<const uint8_t*>(p), size), options, path);
  munmap(p, size);
  return out;
}

}  // namespace pkl::scan
