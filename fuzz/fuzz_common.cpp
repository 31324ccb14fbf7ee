#include "fuzz_common.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <exception>
#include <vector>

#include "picklecodec/encode.hpp"

namespace pklfuzz {

pkl::DecodeOptions strict_options() {
  pkl::DecodeOptions o;
  o.limits = pkl::Limits::strict();
  return o;
}

pkl::DecodeOptions roomy_options() {
  pkl::DecodeOptions o;
  // Roomy, but still bounded well below the fuzzer's RSS limit.
  o.limits.max_total_bytes = uint64_t{1} << 30;
  return o;
}

Decoded try_decode(Bytes data, const pkl::DecodeOptions& options) {
  Decoded d;
  try {
    d.graph.emplace(pkl::decode(data, options));
  } catch (const pkl::Error& e) {
    d.error.emplace(e);
  } catch (const std::exception& e) {
    fail("decode: an exception other than pkl::Error left the library",
         {{"exception", e.what()}, {"input", hex(data)}});
  }
  return d;
}

Encoded try_encode(const pkl::Graph& g, int protocol) {
  Encoded r;
  try {
    r.bytes.emplace(pkl::encode(g, g.root(), protocol));
  } catch (const pkl::Error& e) {
    r.error.emplace(e);
  } catch (const std::exception& e) {
    fail("encode: an exception other than pkl::Error left the library",
         {{"exception", e.what()}, {"protocol", std::to_string(protocol)}});
  }
  return r;
}

namespace {

// Calls fn(node) once for each node reachable from the root (iteratively).
template <class Fn>
void for_each_reachable(const pkl::Graph& g, Fn&& fn) {
  if (g.root() == pkl::kNoNode) return;
  std::vector<bool> seen(g.size());
  std::vector<pkl::NodeId> todo{g.root()};
  auto push = [&](pkl::NodeId n) {
    if (n != pkl::kNoNode && !seen[n]) todo.push_back(n);
  };
  while (!todo.empty()) {
    pkl::NodeId n = todo.back();
    todo.pop_back();
    if (seen[n]) continue;
    seen[n] = true;
    fn(n);
    switch (g.kind(n)) {
      case pkl::Kind::Tuple: case pkl::Kind::List: case pkl::Kind::Set: case pkl::Kind::FrozenSet:
        for (auto c : g.items(n)) push(c);
        break;
      case pkl::Kind::Dict:
        for (auto [k, v] : g.dict_items(n)) { push(k); push(v); }
        break;
      case pkl::Kind::Object: {
        const auto& o = g.object_data(n);
        push(o.callable); push(o.args); push(o.state);
        for (auto c : o.listitems) push(c);
        for (auto [k, v] : o.dictitems) { push(k); push(v); }
        break;
      }
      case pkl::Kind::PersId:
        push(g.persid_value(n));
        break;
      default:
        break;
    }
  }
}

// A global whose name pickle cannot carry unchanged through `protocol`:
// GLOBAL / INST text can hold neither a newline nor an empty name (CPython
// reads an empty line as "pickle data was truncated") below protocol 4, and
// there a qualname "a.b" is written as getattr(GLOBAL mod a, 'b'), so its
// first dotted part must not be empty either; below
// protocol 3 names go through fix_imports both ways, which is not a
// bijection (CONFORMANCE.md section 2).
bool global_unstable(const pkl::Graph& g, pkl::NodeId n, int protocol) {
  if (protocol >= 4) return false;
  const auto& gd = g.global_data(n);
  if (gd.module.empty() || gd.qualname.empty() || gd.qualname[0] == '.' ||
      gd.module.find('\n') != std::string::npos ||
      gd.qualname.find('\n') != std::string::npos)
    return true;
  // Ask the codec itself what fix_imports (below protocol 3) and getattr
  // nesting make of the name: a lone global written at this protocol and read
  // back. (A name nested in a §2.1 builtin, 'builtins set.x', is written as
  // getattr(set, 'x'): CPython's real getattr on its real set, an inert call
  // when read back, and an AttributeError in CPython itself.)
  pkl::Graph one;
  one.set_root(one.global(gd.module, gd.qualname));
  Encoded e = try_encode(one, protocol);
  if (!e.ok()) return false;  // the encoder refuses it; check_recode judges that
  Decoded d = try_decode(*e.bytes, roomy_options());
  if (!d.ok() || d.graph->kind(d.graph->root()) != pkl::Kind::Global) return true;
  const auto& back = d.graph->global_data(d.graph->root());
  return back.module != gd.module || back.qualname != gd.qualname;
}

}  // namespace

const char* recode_loses_information(const pkl::Graph& g, int protocol) {
  const char* why = nullptr;
  std::vector<pkl::NodeId> small_bytes(257, pkl::kNoNode);  // b'' and each b'\xNN' seen
  for_each_reachable(g, [&](pkl::NodeId n) {
    if (why) return;
    switch (g.kind(n)) {
      case pkl::Kind::Bytes: {
        // Protocol 3 reads 1-byte bytes as new objects (SHORT_BINBYTES), but
        // below protocol 3 they come back as Python's shared ones.
        auto b = g.as_bytes(n);
        if (protocol >= 3 || b.size() > 1) break;
        pkl::NodeId& first = small_bytes[b.empty() ? 256 : static_cast<uint8_t>(b[0])];
        if (first == pkl::kNoNode) first = n;
        else if (first != n) why = "equal one-byte bytes objects below protocol 3 (read back as one)";
        break;
      }
      case pkl::Kind::Global:
        if (global_unstable(g, n, protocol))
          why = "a global name that GLOBAL text or fix_imports cannot carry at this protocol";
        break;
      case pkl::Kind::Object: {
        const auto& o = g.object_data(n);
        if (protocol >= 2 && protocol < 4 && o.callable != pkl::kNoNode &&
            g.kind(o.callable) == pkl::Kind::Global) {
          const auto& c = g.global_data(o.callable);
          if (c.module == "copyreg" && c.qualname == "__newobj_ex__")
            why = "__newobj_ex__ below protocol 4 is written as functools.partial(cls.__new__, ...)";
        }
        break;
      }
      case pkl::Kind::Float: {
        // Protocol 0 writes repr(float): every NaN reads back as float('nan').
        double v = g.as_float(n);
        uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        if (protocol == 0 && v != v && bits != 0x7ff8000000000000u)
          why = "a NaN other than float('nan') at protocol 0 (FLOAT text 'nan')";
        break;
      }
      default:
        break;
    }
  });
  return why;
}

namespace {

bool atom(const pkl::Graph& g, pkl::NodeId n) {
  switch (g.kind(n)) {
    case pkl::Kind::None: case pkl::Kind::Bool: case pkl::Kind::Int: case pkl::Kind::Float: return true;
    case pkl::Kind::Tuple: return g.items(n).empty();
    default: return false;
  }
}

// A structural summary of n, `depth` levels deep, identity ignored; at most
// about `budget` characters.
void fingerprint(const pkl::Graph& g, pkl::NodeId n, int depth, std::string& out, size_t budget) {
  if (out.size() > budget) return;
  if (n == pkl::kNoNode) { out += '-'; return; }
  const pkl::Kind k = g.kind(n);
  out += pkl::kind_name(k);
  out += ':';
  switch (k) {
    case pkl::Kind::Bool: out += g.as_bool(n) ? '1' : '0'; break;
    case pkl::Kind::Int: out += g.int_decimal(n); break;
    case pkl::Kind::Float: {
      double v = g.as_float(n);
      uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      out += std::to_string(bits);
      break;
    }
    case pkl::Kind::Str: out += g.as_str(n).substr(0, 64); break;
    case pkl::Kind::Bytes: case pkl::Kind::ByteArray: out += hex(g.as_bytes(n), 32); break;
    case pkl::Kind::Global: out += g.global_data(n).module + "." + g.global_data(n).qualname; break;
    case pkl::Kind::Tuple: case pkl::Kind::List: case pkl::Kind::Set: case pkl::Kind::FrozenSet:
    case pkl::Kind::Dict: case pkl::Kind::Object: {
      out += std::to_string(g.length(n));
      if (depth <= 0) break;
      std::vector<std::string> parts;
      auto part = [&](pkl::NodeId c) {
        std::string s;
        fingerprint(g, c, depth - 1, s, budget / 4);
        parts.push_back(std::move(s));
      };
      if (k == pkl::Kind::Dict) {
        for (auto [key, v] : g.dict_items(n)) { part(key); part(v); }
      } else if (k == pkl::Kind::Object) {
        const auto& o = g.object_data(n);
        part(o.callable);
        part(o.args);
        part(o.state);
      } else {
        for (auto c : g.items(n)) part(c);
        if (k == pkl::Kind::Set || k == pkl::Kind::FrozenSet) std::sort(parts.begin(), parts.end());
      }
      out += '(';
      for (const auto& s : parts) { out += s; out += ','; if (out.size() > budget) break; }
      out += ')';
      break;
    }
    default: break;
  }
}

// Set members ordered by fingerprint (stable: equal ones keep their order).
std::vector<pkl::NodeId> canonical_members(const pkl::Graph& g, pkl::NodeId n) {
  auto items = g.items(n);
  std::vector<std::pair<std::string, pkl::NodeId>> keyed;
  for (auto c : items) {
    std::string f;
    fingerprint(g, c, 3, f, 512);
    keyed.emplace_back(std::move(f), c);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<pkl::NodeId> out;
  for (auto& [f, c] : keyed) out.push_back(c);
  return out;
}

class Matcher {
 public:
  Matcher(const pkl::Graph& a, const pkl::Graph& b, Equivalence eq)
      : a_(a), b_(b), eq_(eq), to_b_(a.size(), pkl::kNoNode), to_a_(b.size(), pkl::kNoNode) {}

  bool run(pkl::NodeId ra, pkl::NodeId rb) {
    if (!link(ra, rb)) return false;
    while (!work_.empty()) {
      auto [x, y] = work_.back();
      work_.pop_back();
      if (!same(x, y)) return false;
    }
    return true;
  }

 private:
  bool link(pkl::NodeId x, pkl::NodeId y) {
    if (x == pkl::kNoNode || y == pkl::kNoNode) return x == y;
    if (eq_.atoms_by_value && (atom(a_, x) || atom(b_, y))) return atom(a_, x) && atom(b_, y) && same(x, y);
    if (to_b_[x] == pkl::kNoNode && to_a_[y] == pkl::kNoNode) {
      to_b_[x] = y;
      to_a_[y] = x;
      work_.push_back({x, y});
      return true;
    }
    return to_b_[x] == y;
  }
  bool link_all(std::span<const pkl::NodeId> xs, std::span<const pkl::NodeId> ys) {
    if (xs.size() != ys.size()) return false;
    for (size_t i = 0; i < xs.size(); ++i)
      if (!link(xs[i], ys[i])) return false;
    return true;
  }
  bool link_pairs(std::span<const pkl::Pair> xs, std::span<const pkl::Pair> ys) {
    if (xs.size() != ys.size()) return false;
    for (size_t i = 0; i < xs.size(); ++i)
      if (!link(xs[i].first, ys[i].first) || !link(xs[i].second, ys[i].second)) return false;
    return true;
  }
  // An object's state; a None state counts as none when eq_.none_state_is_no_state.
  pkl::NodeId state(const pkl::Graph& g, const pkl::ObjectData& o) const {
    if (eq_.none_state_is_no_state && o.state != pkl::kNoNode && g.kind(o.state) == pkl::Kind::None)
      return pkl::kNoNode;
    if (eq_.plain_false_state_is_no_state && o.state != pkl::kNoNode && !g.truthy(o.state) && made_by_new_alone(g, o))
      return pkl::kNoNode;
    return o.state;
  }
  static bool made_by_new_alone(const pkl::Graph& g, const pkl::ObjectData& o) {
    if (o.class_index >= 0 || !o.listitems.empty() || !o.dictitems.empty() || o.callable == pkl::kNoNode ||
        g.kind(o.callable) != pkl::Kind::Global || o.args == pkl::kNoNode || g.kind(o.args) != pkl::Kind::Tuple ||
        g.length(o.args) != 1 || g.kind(g.items(o.args)[0]) != pkl::Kind::Global)
      return false;
    const pkl::GlobalData& c = g.global_data(o.callable);
    return c.module == "copyreg" && c.qualname == "__newobj__";
  }
  bool same(pkl::NodeId x, pkl::NodeId y) {
    using pkl::Kind;
    const Kind k = a_.kind(x);
    if (b_.kind(y) != k) return false;
    switch (k) {
      case Kind::None: return true;
      case Kind::Bool: return a_.as_bool(x) == b_.as_bool(y);
      case Kind::Int: return a_.int_le(x) == b_.int_le(y);
      case Kind::Float: {
        double u = a_.as_float(x), v = b_.as_float(y);
        return std::memcmp(&u, &v, sizeof u) == 0;
      }
      case Kind::Str: return a_.as_str(x) == b_.as_str(y);
      case Kind::Bytes: case Kind::ByteArray: return a_.as_bytes(x) == b_.as_bytes(y);
      case Kind::Set: case Kind::FrozenSet:
        if (eq_.sets_unordered) return link_all(canonical_members(a_, x), canonical_members(b_, y));
        return link_all(a_.items(x), b_.items(y));
      case Kind::Tuple: case Kind::List: return link_all(a_.items(x), b_.items(y));
      case Kind::Dict: return link_pairs(a_.dict_items(x), b_.dict_items(y));
      case Kind::Global:
        return a_.global_data(x).module == b_.global_data(y).module &&
               a_.global_data(x).qualname == b_.global_data(y).qualname;
      case Kind::Object: {
        const auto& oa = a_.object_data(x);
        const auto& ob = b_.object_data(y);
        return oa.class_index == ob.class_index && link(oa.callable, ob.callable) &&
               link(oa.args, ob.args) && link(state(a_, oa), state(b_, ob)) &&
               link_all(oa.listitems, ob.listitems) && link_pairs(oa.dictitems, ob.dictitems);
      }
      case Kind::PersId: return link(a_.persid_value(x), b_.persid_value(y));
      case Kind::Buffer: {
        const auto& ba = a_.buffer_data(x);
        const auto& bb = b_.buffer_data(y);
        return ba.index == bb.index && ba.readonly == bb.readonly && ba.data == bb.data;
      }
    }
    return false;
  }

  const pkl::Graph& a_;
  const pkl::Graph& b_;
  Equivalence eq_;
  std::vector<pkl::NodeId> to_b_, to_a_;
  std::vector<std::pair<pkl::NodeId, pkl::NodeId>> work_;
};

}  // namespace

bool equivalent(const pkl::Graph& a, pkl::NodeId ra, const pkl::Graph& b, pkl::NodeId rb,
                Equivalence eq) {
  if (!eq.atoms_by_value && !eq.sets_unordered && !eq.none_state_is_no_state)
    return pkl::isomorphic(a, ra, b, rb);
  return Matcher(a, b, eq).run(ra, rb);
}

std::string hex(std::string_view data, size_t limit) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  size_t n = data.size() < limit ? data.size() : limit;
  out.reserve(2 * n + 32);
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(data[i]);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  if (n < data.size()) out += "... (" + std::to_string(data.size()) + " bytes)";
  return out;
}

std::string describe(const pkl::Error& e) {
  return std::string("error ") + pkl::error_code_name(e.code()) + ": " + e.text();
}

std::string describe(const Decoded& d) {
  if (d.error) return describe(*d.error);
  return "ok (graph of " + std::to_string(d.graph->size()) + " nodes)";
}

std::string describe(const Encoded& e) {
  if (e.error) return describe(*e.error);
  return "ok (" + std::to_string(e.bytes->size()) + " bytes): " + hex(*e.bytes);
}

void fail(std::string_view what, std::initializer_list<Detail> details) {
  std::fprintf(stderr, "\n==picklecodec-fuzz== FAILURE: %.*s\n", static_cast<int>(what.size()),
               what.data());
  for (const auto& d : details)
    std::fprintf(stderr, "  %.*s: %s\n", static_cast<int>(d.label.size()), d.label.data(),
                 d.value.c_str());
  std::fflush(stderr);
  std::abort();
}

// Aborts unless `e` is one of the codes an encoder may legitimately raise on
// a graph the decoder built.
static void check_encode_error(int protocol, const pkl::Error& e, Bytes input) {
  // CPython's pickler raises PicklingError; TypeError "cannot pickle ..."
  // (a memoryview, which READONLY_BUFFER leaves on a bytearray); ValueError
  // "Exceeds the limit ..." (an int past 4300 digits at protocols 0-1); and
  // the encoder has its budget. Any other error on a decoded graph is a bug.
  const std::string_view m = e.message();
  if (e.code() == pkl::ErrorCode::Unpicklable || e.code() == pkl::ErrorCode::ResourceLimit ||
      (e.code() == pkl::ErrorCode::TypeError && m.starts_with("cannot pickle ")) ||
      (e.code() == pkl::ErrorCode::ValueError && m.starts_with("Exceeds the limit")))
    return;
  fail("encode: the encoder raised something other than PicklingError on a decoded graph",
       {{"protocol", std::to_string(protocol)}, {"error", describe(e)}, {"input", hex(input)}});
}

void check_recode(const pkl::Graph& g, Bytes input, const char* target, RecodeChecks checks) {
  static const pkl::DecodeOptions roomy = roomy_options();
  auto failure = [&](const char* what) { return std::string(target) + ": " + what; };
  for (int p = 0; p <= kMaxProtocol; ++p) {
    Encoded first = try_encode(g, p);
    if (!first.ok()) {
      check_encode_error(p, *first.error, input);
      continue;
    }
    Decoded back = try_decode(*first.bytes, roomy);
    if (!back.ok()) {
      if (recode_loses_information(g, p)) continue;
      fail(failure("the encoder wrote a pickle its decoder rejects"),
           {{"protocol", std::to_string(p)}, {"input", hex(input)}, {"encoded", describe(first)},
            {"decoding it", describe(back)}});
    }
    if (checks.isomorphism && !equivalent(g, g.root(), *back.graph, back.graph->root(), {})) {
      if (recode_loses_information(g, p)) continue;
      fail(failure("decode(encode(g, p)) is not g"),
           {{"protocol", std::to_string(p)}, {"input", hex(input)}, {"encoded", describe(first)}});
    }
    if (checks.fixed_point) {
      Encoded second = try_encode(*back.graph, p);
      if (!second.ok() || *second.bytes != *first.bytes) {
        if (recode_loses_information(g, p)) continue;
        fail(failure("recoding a recode changed its bytes"),
             {{"protocol", std::to_string(p)}, {"input", hex(input)}, {"recode", describe(first)},
              {"recode of the recode", describe(second)}});
      }
    }
  }
}

}  // namespace pklfuzz
