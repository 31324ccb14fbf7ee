// The decoder against CPython: every case of tests/fixtures/decode_cases.txt
// (made by tests/fixtures/gen_decode_fixtures.py with CPython 3.11's C
// unpickler and inert stand-ins) must decode to the same canonical form, or
// fail with the same message and a matching error code.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "picklecodec/decode.hpp"
#include "base/hex.hpp"

namespace {

using namespace pkl;

std::string hex(std::string_view s) { return pkl::hex_string(s); }

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

// The canonical form of gen_decode_fixtures.py's Canon.
struct Canon {
  const Graph& g;
  std::unordered_map<NodeId, int> ids;

  std::string operator()(NodeId n) {
    switch (g.kind(n)) {
      case Kind::None: return "N";
      case Kind::Bool: return g.as_bool(n) ? "T" : "F";
      case Kind::Int: return "i" + g.int_decimal(n);
      case Kind::Float: {
        double d = g.as_float(n);
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(bits));
        return std::string("f") + buf;
      }
      case Kind::Str: return "s" + hex(g.as_str(n));
      case Kind::Bytes: return "b" + hex(g.as_bytes(n));
      case Kind::Global: return "G" + hex(g.global_data(n).module) + "." + hex(g.global_data(n).qualname);
      default: break;
    }
    if (g.kind(n) == Kind::Tuple && g.length(n) == 0) return "()";
    auto it = ids.find(n);
    if (it != ids.end()) return "#" + std::to_string(it->second);
    int id = static_cast<int>(ids.size());
    ids.emplace(n, id);
    std::string out = "#" + std::to_string(id) + "=";
    auto join = [&](std::span<const NodeId> items) {
      std::string s;
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) s += ",";
        s += (*this)(items[i]);
      }
      return s;
    };
    auto pairs = [&](std::span<const Pair> items) {
      std::string s;
      for (size_t i = 0; i < items.size(); ++i) {
        s += i ? "," : "";
        s += (*this)(items[i].first);
        s += ":";
        s += (*this)(items[i].second);
      }
      return s;
    };
    switch (g.kind(n)) {
      case Kind::ByteArray: return out + "B" + hex(g.as_bytes(n));
      case Kind::Tuple: return out + "(" + join(g.items(n)) + ")";
      case Kind::List: return out + "[" + join(g.items(n)) + "]";
      case Kind::Dict: return out + "{" + pairs(g.dict_items(n)) + "}";
      case Kind::Set:
      case Kind::FrozenSet: {
        std::vector<std::string> members;
        for (NodeId m : g.items(n)) members.push_back(Canon{g, {}}(m));
        std::sort(members.begin(), members.end());
        std::string s;
        for (size_t i = 0; i < members.size(); ++i) s += (i ? "," : "") + members[i];
        return out + (g.kind(n) == Kind::Set ? "set{" : "fset{") + s + "}";
      }
      case Kind::Object: {
        const ObjectData& od = g.object_data(n);
        // One step at a time: the numbering follows the traversal order.
        std::string s = out + "O<";
        s += (*this)(od.callable);
        s += ";";
        s += (*this)(od.args);
        s += ";";
        s += od.state == kNoNode ? "-" : (*this)(od.state);
        s += ";[";
        s += join(od.listitems);
        s += "];{";
        s += pairs(od.dictitems);
        s += "}>";
        return s;
      }
      default:
        return out + "?" + kind_name(g.kind(n));
    }
  }
};

struct Case {
  std::string name, data, options, status, payload;
};

std::vector<Case> load_cases() {
  std::ifstream f(std::string(PICKLECODEC_SOURCE_DIR) + "/tests/fixtures/decode_cases.txt");
  std::vector<Case> out;
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> parts;
    std::stringstream ss(line);
    std::string p;
    while (std::getline(ss, p, '\t')) parts.push_back(p);
    if (parts.size() != 5) continue;
    out.push_back({parts[0], unhex(parts[1]), parts[2], parts[3], unhex(parts[4])});
  }
  return out;
}

DecodeOptions options_for(const std::string& spec) {
  DecodeOptions o;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "enc=latin1") o.string_encoding = StringEncoding::Latin1;
    if (item == "enc=bytes") o.string_encoding = StringEncoding::Bytes;
    if (item == "nofix") o.fix_imports = false;
    if (item == "ext") {
      o.extension = [](int32_t code) -> std::optional<std::pair<std::string, std::string>> {
        if (code == 1) return std::make_pair(std::string("copyreg"), std::string("_reconstructor"));
        if (code == 300) return std::make_pair(std::string("mod"), std::string("Name"));
        if (code == 70000) return std::make_pair(std::string("collections"), std::string("OrderedDict"));
        return std::nullopt;
      };
    }
  }
  return o;
}

// Error codes that may stand for a CPython exception type.
bool code_matches(const std::string& pytype, ErrorCode c) {
  static const std::map<std::string, std::set<ErrorCode>> allowed = {
      {"EOFError", {ErrorCode::Truncated, ErrorCode::EndOfInput}},
      {"UnpicklingError",
       {ErrorCode::Truncated, ErrorCode::StackUnderflow, ErrorCode::NoMark, ErrorCode::BadOpcode,
        ErrorCode::BadArgument, ErrorCode::MemoMissing, ErrorCode::NoHook, ErrorCode::TypeError,
        ErrorCode::ValueError}},
      {"ValueError", {ErrorCode::BadProtocol, ErrorCode::BadArgument, ErrorCode::ValueError, ErrorCode::NoHook}},
      {"UnicodeDecodeError", {ErrorCode::BadArgument}},
      {"UnicodeEncodeError", {ErrorCode::ValueError}},
      {"OverflowError", {ErrorCode::BadArgument}},
      {"TypeError", {ErrorCode::TypeError}},
      {"AttributeError", {ErrorCode::AttributeError}},
      {"IndexError", {ErrorCode::ValueError}},
  };
  auto it = allowed.find(pytype);
  return it != allowed.end() && it->second.count(c);
}

// Cases whose CPython message names the test's stand-in classes, or where the
// codec differs in a documented way (see the decoder's report).
const std::set<std::string> kMessageFree = {
    "setitem_global",   // CPython names the stand-in's metaclass
    "additems_inert",   // CPython names the stand-in's class
    "newobj_obj",       // same
    "binbytes8_claim",  // CPython: MemoryError allocating 2^62 bytes; codec: truncated
};

TEST(DecodeFixtures, MatchCPython) {
  auto cases = load_cases();
  ASSERT_GT(cases.size(), 500u);
  int failures = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DecodeOptions o = options_for(c.options);
    if (c.name == "memo_longbinput_sparse") {
      // CPython runs out of memory for a memo index near 2^32; the codec's memo
      // is sparse and answers.
      Graph g = decode(c.data, o);
      EXPECT_EQ((Canon{g, {}}(g.root())), "N");
      continue;
    }
    try {
      Graph g = decode(c.data, o);
      std::string got = Canon{g, {}}(g.root());
      if (c.status != "OK" || got != c.payload) {
        ++failures;
        ADD_FAILURE() << c.name << ": decoded " << got.substr(0, 300) << "\n expected " << c.status << " "
                      << c.payload.substr(0, 300);
      }
    } catch (const Error& e) {
      if (c.status == "OK") {
        ++failures;
        ADD_FAILURE() << c.name << ": failed " << e.what() << "\n expected " << c.payload.substr(0, 300);
        continue;
      }
      std::string pytype = c.status.substr(4);
      if (pytype == "MemoryError") continue;
      bool msg_ok = kMessageFree.count(c.name) || e.message() == c.payload;
      bool code_ok = code_matches(pytype, e.code());
      if (!msg_ok || !code_ok) {
        ++failures;
        ADD_FAILURE() << c.name << ": error [" << error_code_name(e.code()) << "] " << e.what() << "\n expected "
                      << pytype << ": " << c.payload;
      }
      EXPECT_NE(e.offset(), Error::kNoOffset);
    }
  }
  EXPECT_EQ(failures, 0);
}

}  // namespace
