#include "checks.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "picklecodec/error.hpp"
#include "picklecodec/show.hpp"
#include "executor.hpp"  // hex
#include "json.hpp"

namespace pklprop {

using pkl::Error;
using pkl::ErrorCode;

namespace {

std::string where_differ(std::string_view got, std::string_view want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  const size_t from = i > 24 ? i - 24 : 0;
  std::ostringstream os;
  os << "codec wrote " << got.size() << " bytes, CPython " << want.size() << "; first difference at offset " << i
     << "\n  codec:   ..." << hex(got.substr(from, 64)) << "\n  cpython: ..." << hex(want.substr(from, 64));
  if (got.size() <= 400 && want.size() <= 400)
    os << "\n  codec   (all): " << hex(got) << "\n  cpython (all): " << hex(want);
  return os.str();
}

std::string error_text(const Error& e) {
  return std::string(pkl::error_code_name(e.code())) + ": " + e.what();
}

// A source that hands out a few bytes per read and never allows reading ahead.
class TrickleSource final : public pkl::Source {
 public:
  explicit TrickleSource(std::string_view data) : data_(data) {}
  size_t read(void* buf, size_t n) override {
    step_ = (step_ * 5 + 3) % 11;
    const size_t k = std::min({n, data_.size() - pos_, static_cast<size_t>(step_ + 1)});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  bool may_read_ahead() const override { return false; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  unsigned step_ = 0;
};

}  // namespace

Subject make_subject(GDoc doc) {
  Subject s;
  s.doc = std::move(doc);
  s.graph = to_graph(s.doc, &s.ids);
  s.facts = analyze(s.doc, s.graph, s.ids);
  s.json = to_json(s.doc);
  return s;
}

pkl::DecodeOptions decode_options(bool registered, bool deep) {
  pkl::DecodeOptions o;
  o.registry = registered ? &registry() : nullptr;
  o.limits.max_int_digits = 0;
  if (deep) o.limits.max_depth = 1u << 22;
  return o;
}

std::string encode_graph(Subject& s, int protocol) {
  pkl::EncodeOptions o;
  o.protocol = protocol;
  o.registry = &registry();
  return pkl::encode(s.graph, s.graph.root(), o);
}

CmpOptions cmp_options(const Subject& s, int protocol) {
  CmpOptions o;
  o.protocol = protocol;
  o.unordered_sets = s.facts.unordered_sets;
  o.nan_any = protocol == 0 && s.facts.nan;
  return o;
}

// Protocols 0-1 write an int as LONG text, which CPython's dumps (and the
// encoder, EncodeOptions::max_int_digits) refuses past 4300 digits.
bool refuses_long_text(const Subject& s, int q, const Error& e) {
  return q <= 1 && s.facts.big_int_text && e.code() == ErrorCode::ValueError &&
         e.message().find("Exceeds the limit (4300 digits)") == 0;
}

std::string check_roundtrip(Subject& s, int q, std::string* bytes_out) {
  std::string bytes;
  try {
    bytes = encode_graph(s, q);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Unpicklable) return "";  // property 2 checks CPython refuses it too
    if (refuses_long_text(s, q, e)) return "";
    return "encode failed: " + error_text(e);
  } catch (const std::exception& e) {
    return std::string("encode threw a foreign exception: ") + e.what();
  }
  if (bytes_out) *bytes_out = bytes;
  if (s.facts.very_deep) {
    try {
      pkl::decode(bytes, decode_options(true));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::ResourceLimit) return "deep graph: default decode failed other than by the depth limit: " + error_text(e);
    }
  }
  try {
    CmpOptions co = cmp_options(s, q);
    co.unordered_sets = false;  // the codec keeps set order
    pkl::Graph back = pkl::decode(bytes, decode_options(true, s.facts.deep));
    std::string diff = compare(s.graph, s.graph.root(), back, back.root(), co);
    if (!diff.empty()) return "decode(encode(g)) is not g: " + diff;
  } catch (const Error& e) {
    return "decode of the codec's own pickle failed: " + error_text(e);
  } catch (const std::exception& e) {
    return std::string("decode threw a foreign exception: ") + e.what();
  }
  return "";
}

std::string check_decodes(Subject& s, int q, std::string_view cpython) {
  try {
    pkl::Graph g = pkl::decode(cpython, decode_options(true, s.facts.deep));
    std::string diff = compare(s.graph, s.graph.root(), g, g.root(), cmp_options(s, q));
    if (!diff.empty()) return "decoding CPython's pickle does not give g: " + diff;
  } catch (const Error& e) {
    return "decoding CPython's pickle failed: " + error_text(e);
  } catch (const std::exception& e) {
    return std::string("decode threw a foreign exception: ") + e.what();
  }
  return "";
}

std::string check_recode(std::string_view pickle, int q, bool deep, std::string_view must_equal) {
  try {
    pkl::EncodeOptions eo;
    eo.protocol = q;
    pkl::Graph g1 = pkl::decode(pickle, decode_options(false, deep));
    std::string b1 = pkl::encode(g1, g1.root(), eo);
    pkl::Graph g2 = pkl::decode(b1, decode_options(false, deep));
    std::string b2 = pkl::encode(g2, g2.root(), eo);
    if (b1 != b2) return "recode is not idempotent: " + where_differ(b2, b1);
    if (!must_equal.empty() && b1 != must_equal) return "recode of CPython's pickle differs from it: " + where_differ(b1, must_equal);
  } catch (const Error& e) {
    return "recode failed: " + error_text(e);
  } catch (const std::exception& e) {
    return std::string("recode threw a foreign exception: ") + e.what();
  }
  return "";
}

std::string check_prefixes(std::string_view pickle, size_t all_up_to, uint64_t seed) {
  std::vector<size_t> lengths;
  if (pickle.size() <= all_up_to) {
    for (size_t L = 0; L < pickle.size(); ++L) lengths.push_back(L);
  } else {
    for (size_t L = 0; L < 64; ++L) lengths.push_back(L);
    for (size_t L = pickle.size() - 64; L < pickle.size(); ++L) lengths.push_back(L);
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + pickle.size();
    for (int k = 0; k < 192; ++k) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      lengths.push_back(64 + (x >> 11) % (pickle.size() - 128));
    }
  }
  pkl::DecodeOptions o = decode_options(false, true);
  for (size_t L : lengths) {
    try {
      pkl::decode(pickle.substr(0, L), o);
      return "the prefix of " + std::to_string(L) + " of " + std::to_string(pickle.size()) + " bytes decoded";
    } catch (const Error& e) {
      const bool ok = e.code() == ErrorCode::Truncated || (L == 0 && e.code() == ErrorCode::EndOfInput);
      if (!ok)
        return "the prefix of " + std::to_string(L) + " of " + std::to_string(pickle.size()) +
               " bytes was rejected, but not as truncated: " + error_text(e) +
               "\n  prefix: " + hex(pickle.substr(0, std::min<size_t>(L, 200)));
    } catch (const std::exception& e) {
      return "the prefix of " + std::to_string(L) + " bytes threw a foreign exception: " + e.what();
    }
  }
  return "";
}

std::string check_mutant(std::string_view pickle) {
  for (int registered = 0; registered < 2; ++registered) {
    pkl::DecodeOptions o = decode_options(registered != 0);
    o.limits = pkl::Limits::strict();
    try {
      pkl::Graph g = pkl::decode(pickle, o);
      try {
        pkl::EncodeOptions eo;
        eo.protocol = 4;
        eo.registry = registered ? &registry() : nullptr;
        pkl::encode(g, g.root(), eo);
      } catch (const Error&) {
      }
    } catch (const Error&) {
    } catch (const std::exception& e) {
      return std::string("a foreign exception left the codec: ") + e.what();
    }
  }
  return "";
}

std::string check_stream(std::vector<Subject>& ss, int q) {
  std::string stream;
  std::vector<size_t> ends;
  try {
    pkl::StringSink sink(stream);
    pkl::EncodeOptions eo;
    eo.protocol = q;
    eo.registry = &registry();
    pkl::Encoder enc(sink, eo);
    for (Subject& s : ss) {
      enc.dump(s.graph, s.graph.root());
      ends.push_back(stream.size());
    }
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Unpicklable) return "";
    for (const Subject& s : ss)
      if (refuses_long_text(s, q, e)) return "";
    return "encode failed: " + error_text(e);
  }
  bool deep = false;
  for (const Subject& s : ss) deep = deep || s.facts.deep;
  try {
    for (int mode = 0; mode < 2; ++mode) {
      pkl::MemorySource mem(stream);
      TrickleSource trickle(stream);
      pkl::Source& src = mode == 0 ? static_cast<pkl::Source&>(mem) : static_cast<pkl::Source&>(trickle);
      pkl::Decoder dec(src, decode_options(true, deep));
      for (size_t i = 0; i < ss.size(); ++i) {
        std::optional<pkl::Graph> g = dec.next();
        if (!g) return "graph " + std::to_string(i) + " of " + std::to_string(ss.size()) + ": the stream ended early";
        CmpOptions co = cmp_options(ss[i], q);
        co.unordered_sets = false;
        std::string diff = compare(ss[i].graph, ss[i].graph.root(), *g, g->root(), co);
        if (!diff.empty()) return "graph " + std::to_string(i) + " came back different: " + diff;
        if (mode == 1 && dec.offset() != ends[i])
          return "graph " + std::to_string(i) + ": a reader that may not read ahead is at offset " +
                 std::to_string(dec.offset()) + ", the pickle ends at " + std::to_string(ends[i]);
      }
      if (dec.next()) return "a graph after the last one";
      if (dec.next()) return "a graph after the clean end";
    }
  } catch (const Error& e) {
    return "stream decode failed: " + error_text(e);
  } catch (const std::exception& e) {
    return std::string("stream decode threw a foreign exception: ") + e.what();
  }
  return "";
}

std::optional<CaseRecord>& last_failure() {
  static std::optional<CaseRecord> r;
  return r;
}

std::string record_failure(const char* property, int protocol, const std::vector<const Subject*>& subjects,
                           std::string pickle, std::string message) {
  CaseRecord r;
  r.property = property;
  r.protocol = protocol;
  for (const Subject* s : subjects) r.graphs.push_back(s->json);
  r.pickle = std::move(pickle);
  r.message = message;
  if (!subjects.empty()) {
    std::ostringstream os;
    pkl::show(subjects[0]->graph, subjects[0]->graph.root(), os);
    r.show = os.str();
    if (r.show.size() > 20000) r.show = r.show.substr(0, 20000) + "\n... (cut)";
  }
  last_failure() = std::move(r);
  return "protocol " + std::to_string(protocol) + ": " + message;
}

}  // namespace pklprop
