#include "graph_gen.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "text/utf8.hpp"  // codec/src: the codec's UTF-8 writer

namespace pklharness {

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Characters CPython escapes or treats apart somewhere in pickle (protocol 0's
// raw-unicode-escape, BINUNICODE's surrogatepass UTF-8, repr).
const std::vector<std::vector<uint32_t>> kSpecialChars = {
    {'\\'}, {'\n'}, {'\r'}, {0}, {0x1a}, {'\''}, {'"'}, {' '}, {0x7f}, {0x80}, {0xff}, {0x100}, {0x20ac},
    {0xd800}, {0xdbff}, {0xdc00}, {0xdfff}, {0x1f600}, {0x10ffff}, {0xffff}, {'\t'}, {0x2028}, {0x85},
    {'\\', 'u'}, {'\\', 'x'}, {'\\', 'U', '0'}, {0xfeff}, {'\\', '\n'}, {0xe9}, {0x7ff}, {0x800},
};
const uint8_t kSpecialBytes[] = {0x00, 0x0a, 0x0d, 0x5c, 0x1a, 0x27, 0x22, 0x7f, 0x80, 0xff, 0x20, 0x0c};

std::string expand_str(const TextSpec& t) {
  std::vector<uint32_t> cps;
  cps.reserve(t.len + 8);
  std::vector<uint32_t> pos;
  for (size_t j = 0; j < t.specials.size(); ++j)
    pos.push_back(t.len ? static_cast<uint32_t>(splitmix(t.seed * 31 + j) % (t.len + 1)) : 0);
  std::vector<size_t> order(t.specials.size());
  for (size_t j = 0; j < order.size(); ++j) order[j] = j;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return pos[a] < pos[b]; });
  size_t next = 0;
  const uint32_t base = 'a' + t.seed % 26;
  for (uint32_t p = 0; p <= t.len; ++p) {
    while (next < order.size() && pos[order[next]] == p) {
      for (uint32_t cp : kSpecialChars[t.specials[order[next]] % kSpecialChars.size()]) cps.push_back(cp);
      ++next;
    }
    // One str in five is latin-1 beyond ASCII throughout (U+00A0..U+00FF):
    // from 4 KiB of UTF-8 on, the codec keeps such a str as latin-1.
    if (p < t.len && t.any_code_points) {
      // Any code point, each UTF-8 length as likely (surrogates included).
      static constexpr uint32_t kLo[4] = {0, 0x80, 0x800, 0x10000}, kHi[4] = {0x7f, 0x7ff, 0xffff, 0x10ffff};
      const uint64_t r = splitmix(t.seed * 131 + p);
      cps.push_back(kLo[r & 3] + static_cast<uint32_t>((r >> 2) % (kHi[r & 3] - kLo[r & 3] + 1)));
    } else if (p < t.len) {
      cps.push_back(t.seed % 5 == 1 ? 0xA0 + (base - 'a' + p) % 96 : t.seed % 7 == 0 ? base : 'a' + (base - 'a' + p) % 26);
    }
  }
  std::string out;
  out.reserve(cps.size() + 16);
  uint32_t prev = 0;
  for (uint32_t cp : cps) {
    // A high surrogate followed by a low one reads back from JSON as one
    // astral character: keep lone surrogates lone.
    if (prev >= 0xd800 && prev < 0xdc00 && cp >= 0xdc00 && cp < 0xe000) pkl::append_utf8(out, 'x');
    pkl::append_utf8(out, cp);
    prev = cp;
  }
  return out;
}

std::string expand_bytes(const TextSpec& t) {
  std::string out(t.len, '\0');
  uint64_t s = t.seed;
  const bool ascii = t.seed % 3 == 0;
  for (uint32_t p = 0; p < t.len; ++p) {
    if ((p & 7) == 0) s = splitmix(s + p);
    uint8_t c = static_cast<uint8_t>(s >> ((p & 7) * 8));
    out[p] = static_cast<char>(ascii ? 'A' + c % 26 : c);
  }
  for (size_t j = 0; j < t.specials.size() && t.len; ++j)
    out[splitmix(t.seed * 17 + j) % t.len] =
        static_cast<char>(kSpecialBytes[t.specials[j] % sizeof(kSpecialBytes)]);
  return out;
}

// Decimal +/- a small delta of a positive decimal (result stays positive).
std::string add_small(std::string dec, int delta) {
  if (delta > 0) {
    for (int k = 0; k < delta; ++k) {
      int i = static_cast<int>(dec.size()) - 1;
      while (i >= 0 && dec[i] == '9') dec[i--] = '0';
      if (i < 0) dec.insert(dec.begin(), '1');
      else ++dec[i];
    }
  } else {
    for (int k = 0; k < -delta; ++k) {
      int i = static_cast<int>(dec.size()) - 1;
      while (i >= 0 && dec[i] == '0') dec[i--] = '9';
      if (i >= 0) --dec[i];
      size_t nz = dec.find_first_not_of('0');
      dec = nz == std::string::npos ? "0" : dec.substr(nz);
    }
  }
  return dec;
}

std::string expand_int(const IntSpec& s) {
  switch (s.mode % 4) {
    case 0: return std::to_string(s.v);
    case 1: {
      const unsigned k = 2u + s.k % 2100u;
      std::string le(k / 8 + 2, '\0');
      le[k / 8] = static_cast<char>(1u << (k % 8));
      pkl::Graph scratch;
      std::string dec = scratch.int_decimal(
          scratch.integer_le({reinterpret_cast<const uint8_t*>(le.data()), le.size()}));
      dec = add_small(dec, s.delta % 3);
      return s.neg && dec != "0" ? "-" + dec : dec;
    }
    case 2: {
      const unsigned nbytes = 1u + s.k % 1780u;  // at most ~4290 digits: the oracle's int() takes it
      std::string le(nbytes, '\0');
      uint64_t x = s.seed;
      for (unsigned p = 0; p < nbytes; ++p) {
        if ((p & 7) == 0) x = splitmix(x + p);
        le[p] = static_cast<char>(x >> ((p & 7) * 8));
      }
      pkl::Graph scratch;
      return scratch.int_decimal(scratch.integer_le({reinterpret_cast<const uint8_t*>(le.data()), le.size()}));
    }
    default: {
      const unsigned digits = 4298u + s.k % 5u;  // around CPython's 4300-digit text limit
      std::string dec(digits, '9');
      return s.neg ? "-" + dec : dec;
    }
  }
}

uint64_t bits_of(double x) { return std::bit_cast<uint64_t>(x); }

const std::vector<uint64_t>& float_table() {
  static const std::vector<uint64_t> t = {
      bits_of(0.0), bits_of(-0.0), 0x7ff8000000000000ULL, 0xfff8000000000000ULL, 0x7ff0000000000001ULL,
      0x7ff4000000000000ULL, 0x7ff8deadbeef0000ULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL,
      0x0000000000000001ULL, 0x000fffffffffffffULL, 0x0010000000000000ULL, 0x7fefffffffffffffULL,
      0x8000000000000001ULL, bits_of(1.0), bits_of(-1.5), bits_of(0.1), bits_of(1e16), bits_of(1e22),
      bits_of(1e-5), bits_of(1e-4), bits_of(123456789.0), bits_of(9007199254740992.0),
      bits_of(9007199254740993.0), bits_of(0.5), bits_of(3.141592653589793), bits_of(1e-7),
      bits_of(2.0e-308), bits_of(1.8446744073709552e19), bits_of(-2147483648.0), bits_of(1e100)};
  return t;
}

struct GlobalName {
  const char* module;
  const char* name;
};
const GlobalName kGlobals[] = {
    {"builtins", "len"},          {"builtins", "range"},     {"collections", "OrderedDict"},
    {"itertools", "filterfalse"}, {"pcmod", "Outer.Inner"},  {"pcmod", "f"},
    {"queue", "Queue"},           {"pcmod", "Outer.Inner.deeper"}, {"collections", "UserDict"},
    {"os.path", "join"},
};
constexpr size_t kNumGlobals = sizeof(kGlobals) / sizeof(kGlobals[0]);
// GenOptions::wide: globals as values, names the decoder gives meaning to
// when called among them (a global alone is only a name) ...
const GlobalName kWideValues[] = {
    {"builtins", "set"},        {"builtins", "frozenset"},   {"builtins", "bytearray"},
    {"builtins", "bytes"},      {"_codecs", "encode"},       {"builtins", "getattr"},
    {"builtins", "object"},     {"builtins", "list"},        {"builtins", "dict"},
    {"builtins", "int"},        {"copyreg", "_reconstructor"}, {"copyreg", "__newobj__"},
    {"copyreg", "__newobj_ex__"}, {"__builtin__", "set"},    {"__builtin__", "object"},
    {"copy_reg", "_reconstructor"}, {"__builtin__", "xrange"}, {"collections", "OrderedDict"},
    {"datetime", "datetime"},   {"decimal", "Decimal"},      {"functools", "partial"},
    {"numpy.core.multiarray", "_reconstruct"}, {"os", "system"}, {"exceptions", "ValueError"},
    {"UserDict", "UserDict"},   {"mod", "Outer.Inner"},      {"__main__", "Point"}};
// ... and as the callables of objects, classes the decoder leaves inert.
const GlobalName kWideClasses[] = {
    {"__main__", "Point"}, {"mod", "Outer.Inner"}, {"collections", "OrderedDict"}, {"datetime", "datetime"},
    {"decimal", "Decimal"}, {"os", "system"},      {"functools", "partial"}};
constexpr size_t kNumWideValues = sizeof(kWideValues) / sizeof(kWideValues[0]);
constexpr size_t kNumWideClasses = sizeof(kWideClasses) / sizeof(kWideClasses[0]);

// How many globals a Global node picks from.
size_t value_globals(bool wide) { return kNumGlobals + (wide ? kNumWideValues : 0); }
const GlobalName& value_global(size_t k, bool wide) {
  k %= value_globals(wide);
  return k < kNumGlobals ? kGlobals[k] : kWideValues[k - kNumGlobals];
}
const GlobalName& callable_global(size_t k, bool wide) {
  k %= kNumGlobals + (wide ? kNumWideClasses : 0);
  return k < kNumGlobals ? kGlobals[k] : kWideClasses[k - kNumGlobals];
}
const char* const kAttrNames[] = {"a", "b", "c", "d", "e", "f"};
const char* const kKwNames[] = {"k", "kw", "x_y", "\xc3\xa9t\xc3\xa9"};

class Materializer {
 public:
  explicit Materializer(const Desc& d) : d_(d), n_(static_cast<uint32_t>(d.nodes.size())) {}

  GDoc run() {
    out_.nodes.resize(n_);
    for (uint32_t i = 0; i < n_; ++i) build(i);
    filter_unhashable();
    fix_self_reaching_args();
    return compact();
  }

 private:
  uint32_t add(GNode g) {
    out_.nodes.push_back(std::move(g));
    return static_cast<uint32_t>(out_.nodes.size() - 1);
  }
  uint32_t none() {
    if (none_ < 0) none_ = add(GNode{GK::None});
    return static_cast<uint32_t>(none_);
  }
  uint32_t int_node(std::string dec) {
    GNode g{GK::Int};
    g.v = std::move(dec);
    return add(std::move(g));
  }
  uint32_t float_node(uint64_t bits) {
    GNode g{GK::Float};
    g.bits = bits;
    return add(std::move(g));
  }
  uint32_t str_node(std::string s) {
    GNode g{GK::Str};
    g.v = std::move(s);
    return add(std::move(g));
  }
  uint32_t global_node(size_t k) {
    GNode g{GK::Global};
    g.v = kGlobals[k % kNumGlobals].module;
    g.name = kGlobals[k % kNumGlobals].name;
    return add(std::move(g));
  }
  // The callable (or class) of an object.
  uint32_t callable_node(size_t k) {
    const GlobalName& n = callable_global(k, d_.wide);
    return special_global(n.module, n.name);
  }
  uint32_t special_global(const char* m, const char* q) {
    GNode g{GK::Global};
    g.v = m;
    g.name = q;
    return add(std::move(g));
  }
  uint32_t tuple_node(std::vector<uint32_t> items) {
    GNode g{GK::Tuple};
    g.items = std::move(items);
    return add(std::move(g));
  }
  uint32_t falsy(uint8_t k) {
    switch (k % 9) {
      case 0: return none();
      case 1: { GNode g{GK::Bool}; g.b = false; return add(std::move(g)); }
      case 2: return int_node("0");
      case 3: return float_node(0);
      case 4: return str_node("");
      case 5: return add(GNode{GK::Bytes});
      case 6: return add(GNode{GK::Tuple});
      case 7: return add(GNode{GK::List});
      default: return add(GNode{GK::Dict});
    }
  }
  // A fresh constant of the merge pool (dict keys Python merges).
  uint32_t merge_const(uint8_t k) {
    if (k >= 100) return int_node(std::to_string(k - 100));
    switch ((k - 1) % 13) {
      case 0: return int_node("1");
      case 1: return float_node(bits_of(1.0));
      case 2: { GNode g{GK::Bool}; g.b = true; return add(std::move(g)); }
      case 3: return int_node("0");
      case 4: return float_node(bits_of(-0.0));
      case 5: { GNode g{GK::Bool}; g.b = false; return add(std::move(g)); }
      case 6: return float_node(0x7ff8000000000000ULL);
      case 7: return float_node(0);
      case 8: return str_node("k");
      case 9: return int_node("18446744073709551616");
      case 10: return float_node(bits_of(18446744073709551616.0));
      case 11: return tuple_node({int_node("1")});
      default: return tuple_node({float_node(bits_of(1.0))});
    }
  }
  // Reference from node i; forward-only references may only go to higher indices.
  int64_t ref(uint32_t i, uint32_t r, bool forward_only) const {
    const uint32_t t = r % n_;
    if (forward_only && t <= i) return -1;
    return t;
  }
  uint32_t ref_or_none(uint32_t i, uint32_t r) {
    int64_t t = ref(i, r, true);
    return t < 0 ? none() : static_cast<uint32_t>(t);
  }
  uint32_t attr_dict(const std::vector<std::pair<uint8_t, uint32_t>>& attrs, uint32_t i, bool slots) {
    GNode g{GK::Dict};
    for (auto [name, r] : attrs) {
      uint32_t key = str_node(slots ? (name % 2 ? "q" : "p") : kAttrNames[name % 6]);
      g.pairs.emplace_back(key, static_cast<uint32_t>(ref(i, r, false)));
    }
    return add(std::move(g));
  }
  void add_fill(uint32_t i, const DNode& x, std::vector<uint32_t>& items, bool distinct) {
    for (uint32_t j = 0; j < x.fill; ++j) {
      if (!distinct && !x.refs.empty() && j % 3 == 0) {
        int64_t t = ref(i, x.refs[(j / 3) % x.refs.size()], x.k == DK::Tuple || x.k == DK::FrozenSet);
        items.push_back(t < 0 ? none() : static_cast<uint32_t>(t));
      } else {
        items.push_back(int_node(std::to_string(j)));
      }
    }
  }
  int64_t state_of(uint32_t i, const StateSpec& s, int shape) {
    uint8_t mode = s.mode % 5;
    if (shape == kG && mode == 2) mode = 3;  // without __setstate__ the state must be a dict
    switch (mode) {
      case 0: return -1;
      case 1: return shape == kG ? (s.falsy % 2 ? static_cast<int64_t>(add(GNode{GK::Dict})) : none()) : falsy(s.falsy);
      case 2: return ref(i, s.ref, false);
      case 3: return attr_dict(s.attrs, i, false);
      default: {
        uint32_t d = s.dict_none ? none() : attr_dict(s.attrs, i, false);
        return tuple_node({d, attr_dict(s.slots, i, true)});
      }
    }
  }

  void build(uint32_t i) {
    const DNode& x = d_.nodes[i];
    GNode g;
    switch (x.k) {
      case DK::None: g.k = GK::None; break;
      case DK::Bool: g.k = GK::Bool; g.b = x.flag; break;
      case DK::Int: g.k = GK::Int; g.v = expand_int(x.i); break;
      case DK::Float:
        g.k = GK::Float;
        g.bits = x.fk == 255 ? x.fbits : float_table()[x.fk % float_table().size()];
        break;
      case DK::Str: g.k = GK::Str; g.v = expand_str(x.t); break;
      case DK::Bytes: g.k = GK::Bytes; g.v = expand_bytes(x.t); break;
      case DK::ByteArray: g.k = GK::ByteArray; g.v = expand_bytes(x.t); break;
      case DK::Tuple:
        g.k = GK::Tuple;
        for (uint32_t r : x.refs) g.items.push_back(ref_or_none(i, r));
        add_fill(i, x, g.items, false);
        break;
      case DK::List:
        g.k = GK::List;
        for (uint32_t r : x.refs) g.items.push_back(static_cast<uint32_t>(ref(i, r, false)));
        add_fill(i, x, g.items, false);
        break;
      case DK::Set:
      case DK::FrozenSet: {
        const bool frozen = x.k == DK::FrozenSet;
        g.k = frozen ? GK::FrozenSet : GK::Set;
        if (x.fill) {
          add_fill(i, x, g.items, true);  // 0..fill-1 ascending: CPython iterates them in this order
        } else {
          for (uint32_t r : x.refs) {
            int64_t t = ref(i, r, frozen);
            if (t >= 0) g.items.push_back(static_cast<uint32_t>(t));
          }
        }
        break;
      }
      case DK::Dict:
        g.k = GK::Dict;
        for (size_t j = 0; j < x.refs.size(); ++j) {
          const KeySpec ks = j < x.keys.size() ? x.keys[j] : KeySpec{};
          uint32_t key = ks.inline_const ? merge_const(ks.inline_const) : static_cast<uint32_t>(ref(i, ks.ref, false));
          g.pairs.emplace_back(key, static_cast<uint32_t>(ref(i, x.refs[j], false)));
        }
        for (uint32_t j = 0; j < x.fill; ++j) {
          uint32_t v = !x.refs.empty() && j % 3 == 0 ? static_cast<uint32_t>(ref(i, x.refs[j % x.refs.size()], false))
                                                     : int_node(std::to_string(j));
          g.pairs.emplace_back(int_node(std::to_string(j)), v);
        }
        break;
      case DK::Global: {
        g.k = GK::Global;
        const GlobalName& n = value_global(x.sub, d_.wide);
        g.v = n.module;
        g.name = n.name;
        break;
      }
      case DK::Object:
      case DK::Instance: {
        int shape = x.k == DK::Object ? -1 : x.sub % kShapes;
        if (shape == kR || shape < 0) {
          g.k = GK::Object;
          g.shape = shape;
          std::vector<uint32_t> args;
          for (uint32_t r : x.args) args.push_back(ref_or_none(i, r));
          // A registered class's __reduce__ may not name another class's __newobj__
          // (pickle checks obj.__class__ is args[0]): shape R calls a plain global.
          const uint8_t cmode = shape == kR ? 0 : x.flag ? 2 + (x.a & 1) : (x.a >> 1) & 1;
          if (cmode == 1) {
            // An object, or a global the decoder leaves inert (not one of
            // the wide values: bytearray(...) would run); wide: the first
            // object from there on, else the first such global (calls of
            // objects, not only of globals).
            auto callable = [&](int64_t t) {
              const DNode& c = d_.nodes[static_cast<size_t>(t)];
              return c.k == DK::Object || (c.k == DK::Global && c.sub % value_globals(d_.wide) < kNumGlobals);
            };
            int64_t t = ref(i, x.a >> 2, true);
            if (d_.wide && t >= 0) {
              int64_t o = t;
              while (static_cast<uint32_t>(o) < n_ && d_.nodes[static_cast<size_t>(o)].k != DK::Object) ++o;
              if (static_cast<uint32_t>(o) < n_) t = o;
              else while (static_cast<uint32_t>(t) + 1 < n_ && !callable(t)) ++t;
            }
            const GK ck = t >= 0 && callable(t) ? (d_.nodes[static_cast<size_t>(t)].k == DK::Global ? GK::Global : GK::Object)
                                                : GK::None;
            g.callable = ck != GK::None ? t : callable_node(x.a);
            g.args = tuple_node(std::move(args));
          } else if (cmode == 2) {
            g.callable = special_global("copyreg", "__newobj__");
            args.insert(args.begin(), callable_node(x.a >> 2));
            g.args = tuple_node(std::move(args));
          } else if (cmode == 3) {
            g.callable = special_global("copyreg", "__newobj_ex__");
            GNode kw{GK::Dict};
            for (auto [name, r] : x.kwargs) kw.pairs.emplace_back(str_node(kKwNames[name % 4]), static_cast<uint32_t>(ref(i, r, false)));
            uint32_t kwn = add(std::move(kw));
            g.args = tuple_node({callable_node(x.a >> 2), tuple_node(std::move(args)), kwn});
          } else {
            g.callable = callable_node(x.a >> 2);
            g.args = tuple_node(std::move(args));
          }
          g.state = state_of(i, x.st, shape < 0 ? kS : kS);
          for (uint32_t r : x.refs) g.items.push_back(static_cast<uint32_t>(ref(i, r, false)));
          add_fill(i, x, g.items, false);
          for (size_t j = 0; j < x.vals.size(); ++j) {
            const KeySpec ks = j < x.keys.size() ? x.keys[j] : KeySpec{};
            uint32_t key = ks.inline_const ? merge_const(ks.inline_const) : static_cast<uint32_t>(ref(i, ks.ref, false));
            g.pairs.emplace_back(key, static_cast<uint32_t>(ref(i, x.vals[j], false)));
          }
          break;
        }
        g.k = GK::Instance;
        g.shape = shape;
        if (shape == kA) {
          if (!x.st.attrs.empty()) g.state = attr_dict(x.st.attrs, i, false);
        } else {
          g.state = state_of(i, x.st, shape);
        }
        if (shape == kSN) {
          std::vector<uint32_t> args;
          for (uint32_t r : x.args) args.push_back(ref_or_none(i, r));
          g.newargs = tuple_node(std::move(args));
        } else if (shape == kSX) {
          std::vector<uint32_t> args;
          for (uint32_t r : x.args) args.push_back(ref_or_none(i, r));
          g.nx_args = tuple_node(std::move(args));
          GNode kw{GK::Dict};
          for (auto [name, r] : x.kwargs) {
            int64_t t = ref(i, r, true);
            kw.pairs.emplace_back(str_node(kKwNames[name % 4]), t < 0 ? none() : static_cast<uint32_t>(t));
          }
          g.nx_kwargs = add(std::move(kw));
        }
        break;
      }
      case DK::Chain: {
        const uint32_t depth = std::max<uint32_t>(1, x.fill);
        const uint8_t kind = x.sub % 5;
        // Level 0 is node i itself; level L's single item is level L+1.
        std::vector<uint32_t> level(depth);
        level[0] = i;
        for (uint32_t L = 1; L < depth; ++L) level[L] = add(GNode{});
        auto tuple_level = [&](uint32_t L) { return kind == 1 || (kind == 3 && L % 2 == 1); };
        for (uint32_t L = 0; L < depth; ++L) {
          GNode c;
          uint32_t inner;
          if (L + 1 < depth) {
            inner = level[L + 1];
          } else {
            inner = tuple_level(L) ? ref_or_none(i, x.a) : static_cast<uint32_t>(ref(i, x.a, false));
          }
          if (kind == 2) {
            c.k = GK::Dict;
            c.pairs.emplace_back(str_node("k"), inner);
          } else if (kind == 4) {
            c.k = GK::Object;
            c.callable = global_node(5);
            c.args = tuple_node({});
            c.state = inner;
          } else {
            c.k = tuple_level(L) ? GK::Tuple : GK::List;
            c.items.push_back(inner);
          }
          if (L == 0) g = std::move(c);
          else out_.nodes[level[L]] = std::move(c);
        }
        break;
      }
    }
    out_.nodes[i] = std::move(g);
  }

  void filter_unhashable() {
    const size_t n = out_.nodes.size();
    std::vector<int8_t> h(n, -1);
    // Tuples: hashable iff all items are; computed children first (iteratively).
    for (size_t s = 0; s < n; ++s) {
      if (h[s] >= 0) continue;
      std::vector<std::pair<uint32_t, size_t>> st{{static_cast<uint32_t>(s), 0}};
      while (!st.empty()) {
        auto& [u, pos] = st.back();
        const GNode& g = out_.nodes[u];
        if (g.k != GK::Tuple) {
          h[u] = !(g.k == GK::List || g.k == GK::Dict || g.k == GK::Set || g.k == GK::ByteArray);
          st.pop_back();
          continue;
        }
        if (pos < g.items.size()) {
          uint32_t c = g.items[pos++];
          if (h[c] < 0) st.emplace_back(c, 0);
          continue;
        }
        bool all = true;
        for (uint32_t c : g.items) all = all && h[c] == 1;
        h[u] = all;
        st.pop_back();
      }
    }
    for (GNode& g : out_.nodes) {
      if (g.k == GK::Dict) {
        std::erase_if(g.pairs, [&](const auto& p) { return h[p.first] != 1; });
      } else if (g.k == GK::Set || g.k == GK::FrozenSet) {
        std::erase_if(g.items, [&](uint32_t m) { return h[m] != 1; });
      }
    }
  }

  bool reaches(std::vector<uint32_t> from, uint32_t target) const {
    std::vector<uint8_t> seen(out_.nodes.size(), 0);
    while (!from.empty()) {
      uint32_t u = from.back();
      from.pop_back();
      if (u == target) return true;
      if (seen[u]) continue;
      seen[u] = 1;
      for (uint32_t c : children(out_.nodes[u])) from.push_back(c);
    }
    return false;
  }

  void fix_self_reaching_args() {
    for (uint32_t i = 0; i < out_.nodes.size(); ++i) {
      GNode& g = out_.nodes[i];
      if (g.k != GK::Object && g.k != GK::Instance) continue;
      std::vector<uint32_t> from;
      for (int64_t x : {g.callable, g.args, g.newargs, g.nx_args, g.nx_kwargs})
        if (x >= 0) from.push_back(static_cast<uint32_t>(x));
      if (from.empty() || !reaches(from, i)) continue;
      // (add() may move the nodes: index afresh after each.)
      if (g.k == GK::Object) {
        const int64_t c = global_node(0);
        out_.nodes[i].callable = c;
        const int64_t a = tuple_node({});
        out_.nodes[i].args = a;
      } else {
        if (out_.nodes[i].newargs >= 0) {
          const int64_t a = tuple_node({});
          out_.nodes[i].newargs = a;
        }
        if (out_.nodes[i].nx_args >= 0) {
          const int64_t a = tuple_node({});
          out_.nodes[i].nx_args = a;
          const int64_t k = add(GNode{GK::Dict});
          out_.nodes[i].nx_kwargs = k;
        }
      }
    }
  }

  GDoc compact() {
    const size_t n = out_.nodes.size();
    std::vector<int64_t> map(n, -1);
    std::vector<uint32_t> order;
    std::vector<uint32_t> work{0};
    map[0] = 0;
    order.push_back(0);
    for (size_t k = 0; k < order.size(); ++k) {
      for (uint32_t c : children(out_.nodes[order[k]])) {
        if (map[c] < 0) {
          map[c] = static_cast<int64_t>(order.size());
          order.push_back(c);
        }
      }
    }
    GDoc d;
    d.root = 0;
    d.nodes.reserve(order.size());
    auto m = [&](int64_t x) -> int64_t { return x < 0 ? -1 : map[static_cast<size_t>(x)]; };
    for (uint32_t u : order) {
      GNode g = std::move(out_.nodes[u]);
      for (uint32_t& c : g.items) c = static_cast<uint32_t>(map[c]);
      for (auto& [k, v] : g.pairs) {
        k = static_cast<uint32_t>(map[k]);
        v = static_cast<uint32_t>(map[v]);
      }
      g.callable = m(g.callable);
      g.args = m(g.args);
      g.state = m(g.state);
      g.newargs = m(g.newargs);
      g.nx_args = m(g.nx_args);
      g.nx_kwargs = m(g.nx_kwargs);
      d.nodes.push_back(std::move(g));
    }
    return d;
  }

  const Desc& d_;
  const uint32_t n_;
  GDoc out_;
  int64_t none_ = -1;
};

}  // namespace

GDoc materialize(const Desc& d) {
  if (d.nodes.empty()) {
    GDoc g;
    g.nodes.push_back(GNode{GK::None});
    return g;
  }
  return Materializer(d).run();
}

bool has_registered(const GDoc& d) {
  for (const GNode& x : d.nodes)
    if (x.k == GK::Instance || (x.k == GK::Object && x.shape == kR)) return true;
  return false;
}

// ---- the generator -----------------------------------------------------------

namespace {

class Generator {
 public:
  Generator(Choices& c, const GenOptions& o) : c_(c), o_(o) {}

  Desc run() {
    Desc d;
    d.wide = o_.wide;
    const int n = 1 + static_cast<int>(c_.sized(0, 1 + o_.size / 10));
    // The root: mostly a list or dict (so the motifs below hang off it).
    const DK root_kind = c_.weighted<DK>(
        {{60, DK::List}, {15, DK::Dict}, {5, DK::Tuple}, {5, DK::Instance}, {5, DK::Set}, {5, DK::Object}, {5, DK::None}});
    d.nodes.push_back(node(root_kind, true));
    if (root_kind == DK::None) d.nodes[0] = node(DK::None, true);
    for (int i = 1; i < n; ++i) d.nodes.push_back(node(DK::None, true));
    motifs(d);
    if (o_.with_instance) add_instance(d);
    return d;
  }

 private:
  int pick(int lo, int hi) { return c_.pick(lo, hi); }
  bool chance(int pct) { return c_.chance(pct); }
  uint32_t any_ref() { return static_cast<uint32_t>(c_.range(0, static_cast<int64_t>(o_.refs) - 1)); }

  uint32_t text_len() {
    switch (c_.weighted<int>({{30, 0}, {6, 1}, {6, 2}, {3 * o_.heavy / 100, 3}})) {
      case 0: return static_cast<uint32_t>(pick(0, 12));
      case 1: return c_.element<uint32_t>({0u, 1u, 2u, 3u, 4u, 8u, 255u, 256u, 257u});
      case 2: return c_.element<uint32_t>({254u, 255u, 256u, 257u, 258u, 2047u, 2048u, 65535u, 65536u});
      default: return c_.element<uint32_t>({65534u, 65535u, 65536u, 65537u, 65536u * 2 + 1});
    }
  }

  TextSpec text(bool str, uint32_t len) {
    TextSpec t;
    t.len = len;
    const int nspec = chance(70) ? pick(1, 4) : 0;
    for (int j = 0; j < nspec; ++j)
      t.specials.push_back(static_cast<uint8_t>(pick(0, str ? static_cast<int>(kSpecialChars.size()) - 1 : 11)));
    t.seed = static_cast<uint32_t>(c_.range(0, 999));
    if (str && o_.wide) t.any_code_points = chance(40);
    return t;
  }

  IntSpec integer() {
    IntSpec s;
    s.mode = static_cast<uint8_t>(c_.weighted<int>({{50, 0}, {35, 1}, {10, 2}, {3 * o_.heavy / 100, 3}}));
    switch (s.mode) {
      case 0:
        s.v = chance(50) ? pick(-300, 300) : c_.any_int64();
        break;
      case 1:
        // 2^k +/- 2 around every opcode's boundary: BININT1/2 (8, 16), BININT (31, 32),
        // 64-bit (63, 64), LONG1 (255 bytes = 2039/2040 bits), and a few more.
        s.k = static_cast<uint16_t>(
            c_.element<int>({6, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 1000, 2037, 2038, 2039, 2040, 2047}) - 2);
        s.delta = static_cast<int8_t>(pick(-2, 2));
        s.neg = chance(40);
        break;
      case 2:
        s.k = static_cast<uint16_t>(chance(30 * o_.heavy / 100) ? pick(200, 1779) : pick(1, 40));
        s.seed = static_cast<uint32_t>(c_.range(0, 99999));
        break;
      default:
        s.k = static_cast<uint16_t>(pick(0, 4));
        s.neg = chance(30);
        break;
    }
    return s;
  }

  StateSpec state(bool instance_falsy_heavy) {
    StateSpec s;
    s.mode = static_cast<uint8_t>(
        c_.weighted<int>({{15, 0}, {instance_falsy_heavy ? 45 : 15, 1}, {25, 2}, {10, 3}, {8, 4}}));
    s.falsy = static_cast<uint8_t>(pick(0, 8));
    s.ref = any_ref();
    if (s.mode >= 3) {
      const int na = pick(0, 3);
      for (int j = 0; j < na; ++j) s.attrs.emplace_back(static_cast<uint8_t>(pick(0, 5)), any_ref());
      if (s.mode == 4) {
        const int ns = pick(0, 2);
        for (int j = 0; j < ns; ++j) s.slots.emplace_back(static_cast<uint8_t>(pick(0, 1)), any_ref());
        s.dict_none = chance(40);
      }
    }
    return s;
  }

  KeySpec key(int inline_pct) {
    KeySpec k;
    if (chance(inline_pct)) k.inline_const = static_cast<uint8_t>(pick(1, 13));
    else k.ref = any_ref();
    return k;
  }

  DNode node(DK forced, bool allow_big) {
    DNode x;
    x.k = forced != DK::None ? forced
                             : c_.weighted<DK>({{4, DK::None},
                                                {4, DK::Bool},
                                                {14, DK::Int},
                                                {10, DK::Float},
                                                {12, DK::Str},
                                                {6, DK::Bytes},
                                                {o_.wide ? 6 : 3, DK::ByteArray},
                                                {9, DK::Tuple},
                                                {12, DK::List},
                                                {9, DK::Dict},
                                                {4, DK::Set},
                                                {o_.wide ? 6 : 4, DK::FrozenSet},
                                                {4, DK::Global},
                                                {o_.wide ? 14 : 5, DK::Object},
                                                {7, DK::Instance}});
    const int nrefs_max = 4;
    switch (x.k) {
      case DK::None: break;
      case DK::Bool: x.flag = chance(50); break;
      case DK::Int: x.i = integer(); break;
      case DK::Float:
        if (chance(80)) x.fk = static_cast<uint8_t>(pick(0, static_cast<int>(float_table().size()) - 1));
        else { x.fk = 255; x.fbits = c_.any_bits(); }
        break;
      case DK::Str: x.t = text(true, allow_big ? text_len() : static_cast<uint32_t>(pick(0, 12))); break;
      case DK::Bytes:
      case DK::ByteArray: x.t = text(false, allow_big ? text_len() : static_cast<uint32_t>(pick(0, 12))); break;
      case DK::Tuple:
      case DK::List:
      case DK::Set:
      case DK::FrozenSet: {
        const int nr = pick(0, nrefs_max);
        for (int j = 0; j < nr; ++j) x.refs.push_back(any_ref());
        break;
      }
      case DK::Dict: {
        const int nr = pick(0, nrefs_max);
        for (int j = 0; j < nr; ++j) {
          x.refs.push_back(any_ref());
          x.keys.push_back(key(40));
        }
        break;
      }
      case DK::Global:
        x.sub = static_cast<uint8_t>(pick(0, static_cast<int>(value_globals(o_.wide)) - 1));
        break;
      case DK::Object:
      case DK::Instance: {
        x.sub = static_cast<uint8_t>(pick(0, kShapes - 1));
        x.flag = chance(40);
        x.a = any_ref();
        const int na = pick(0, 3);
        for (int j = 0; j < na; ++j) x.args.push_back(any_ref());
        if (chance(50)) {
          const int nk = pick(1, 2);
          for (int j = 0; j < nk; ++j) x.kwargs.emplace_back(static_cast<uint8_t>(pick(0, 3)), any_ref());
        }
        x.st = state(x.k == DK::Instance);
        if (x.k == DK::Object || x.sub == kR) {
          const int nl = chance(50) ? pick(0, 3) : 0;
          for (int j = 0; j < nl; ++j) x.refs.push_back(any_ref());
          const int nd = chance(40) ? pick(1, 3) : 0;
          for (int j = 0; j < nd; ++j) {
            x.vals.push_back(any_ref());
            x.keys.push_back(key(30));
          }
        }
        break;
      }
      case DK::Chain: break;
    }
    return x;
  }

  // Motifs: each edge case with a fixed chance per graph, hung off the root.
  void motifs(Desc& d) {
    // The root becomes a list [old root, ...] if it cannot hold them.
    auto hang = [&](uint32_t idx) {
      if (d.nodes[0].k != DK::List && d.nodes[0].k != DK::Dict) {
        d.nodes.push_back(d.nodes[0]);
        d.nodes[0] = DNode{};
        d.nodes[0].k = DK::List;
        d.nodes[0].refs.push_back(static_cast<uint32_t>(d.nodes.size() - 1));
      }
      DNode& r = d.nodes[0];
      r.refs.push_back(idx);
      if (r.k == DK::Dict) {
        r.keys.resize(r.refs.size() - 1);
        r.keys.push_back(KeySpec{static_cast<uint8_t>(100 + std::min<size_t>(r.refs.size(), 150)), 0});
      }
    };
    auto here = [&] { return static_cast<uint32_t>(d.nodes.size()); };
    if (chance(20)) {  // a recursive tuple: T = (L, ...), L = [T]
      const uint32_t t = here();
      DNode T;
      T.k = DK::Tuple;
      T.refs = {t + 1, any_ref()};
      DNode L;
      L.k = chance(30) ? DK::Dict : DK::List;
      L.refs = {t};
      if (L.k == DK::Dict) L.keys = {KeySpec{static_cast<uint8_t>(pick(1, 13)), 0}};
      d.nodes.push_back(T);
      d.nodes.push_back(L);
      hang(t);
    }
    if (chance(30)) {  // an instance with a falsy state
      DNode I = node(DK::Instance, false);
      I.sub = static_cast<uint8_t>(c_.element<int>({kS, kSN, kSX, kG, kS}));
      I.st.mode = 1;
      d.nodes.push_back(I);
      hang(here() - 1);
    }
    if (chance(20)) {  // keys Python merges: 1, 1.0, True / 0, -0.0, False / NaN
      DNode D;
      D.k = DK::Dict;
      const int base = chance(50) ? 1 : 4;
      const int nk = pick(2, 4);
      for (int j = 0; j < nk; ++j) {
        D.refs.push_back(any_ref());
        const int k = j < 3 ? base + j : 7;
        D.keys.push_back(KeySpec{static_cast<uint8_t>(k), 0});
      }
      d.nodes.push_back(D);
      hang(here() - 1);
    }
    if (chance(20)) {  // a container (or object state) holding itself
      DNode C = node(c_.element<DK>({DK::List, DK::Dict, DK::Object, DK::Instance}), false);
      const uint32_t at = here();
      if (C.k == DK::List || C.k == DK::Dict) {
        C.refs.push_back(at);
        if (C.k == DK::Dict) C.keys.push_back(KeySpec{1, 0});
      } else {
        C.st.mode = 2;
        C.st.ref = at;
        if (C.k == DK::Instance) C.sub = static_cast<uint8_t>(pick(0, 2));
      }
      d.nodes.push_back(C);
      hang(at);
    }
    if (chance(15 * o_.heavy / 100)) {  // batching: 1000 items per APPENDS/SETITEMS/ADDITEMS
      DNode B = node(c_.element<DK>({DK::List, DK::Dict, DK::Set, DK::FrozenSet, DK::Tuple, DK::Object, DK::List}),
                     false);
      // The implicit items complete the explicit ones to the length wanted
      // (sets with implicit items hold only those).
      const uint32_t want = c_.element<uint32_t>({999u, 1000u, 1001u, 1999u, 2000u, 2001u});
      const uint32_t have = B.k == DK::Set || B.k == DK::FrozenSet ? 0 : static_cast<uint32_t>(B.refs.size());
      B.fill = want - have;
      d.nodes.push_back(B);
      hang(here() - 1);
    }
    if (chance(12 * o_.heavy / 100)) {  // framing: payloads around 64 KiB
      DNode S = node(c_.element<DK>({DK::Str, DK::Bytes, DK::ByteArray, DK::Str}), false);
      S.t.len = c_.element<uint32_t>({65535u - 12u, 65535u, 65536u, 65537u, 65536u + 40u, 70000u});
      d.nodes.push_back(S);
      hang(here() - 1);
    }
    if (chance(10)) {  // depth
      DNode C;
      C.k = DK::Chain;
      C.sub = static_cast<uint8_t>(pick(0, 4));
      int depth = c_.weighted<int>({{60, 0}, {35, 1}, {5, 2}});
      if (depth == 2 && !o_.very_deep) depth = 1;
      if (depth == 1 && o_.heavy < 100 && !chance(o_.heavy)) depth = 0;
      C.fill = depth == 0   ? static_cast<uint32_t>(pick(2, 60))
               : depth == 1 ? static_cast<uint32_t>(pick(900, 1200))
                            : static_cast<uint32_t>(100001 + pick(0, 5));
      C.a = any_ref();
      d.nodes.push_back(C);
      hang(here() - 1);
    }
    if (chance(15)) {  // one node shared by two containers
      const uint32_t s = here();
      DNode L;
      L.k = DK::List;
      L.refs = {s + 1, s + 1};
      DNode X = node(c_.element<DK>({DK::List, DK::Dict, DK::Str, DK::Tuple, DK::Bytes, DK::Object}), false);
      d.nodes.push_back(L);
      d.nodes.push_back(X);
      hang(s);
    }
  }

  // A registered instance under the root (a list: any other root is
  // replaced by an empty list), its state falsy half the time.
  void add_instance(Desc& d) {
    DNode inst;
    inst.k = DK::Instance;
    inst.sub = static_cast<uint8_t>(c_.element<int>({kS, kSN, kSX, kG, kA, kS, kSN, kSX}));
    inst.st.mode = static_cast<uint8_t>(c_.weighted<int>({{50, 1}, {10, 0}, {25, 2}, {10, 3}, {5, 4}}));
    inst.st.falsy = static_cast<uint8_t>(pick(0, 8));
    inst.st.ref = any_ref();
    if (pick(0, 2) == 0) inst.args.push_back(any_ref());
    if (pick(0, 2) == 0) inst.kwargs.emplace_back(static_cast<uint8_t>(pick(0, 3)), 0u);
    if (inst.sub == kA) inst.st.attrs.emplace_back(static_cast<uint8_t>(pick(0, 5)), 0u);
    const uint32_t at = static_cast<uint32_t>(d.nodes.size());
    d.nodes.push_back(inst);
    DNode& root = d.nodes[0];
    if (root.k != DK::List) {
      root = DNode{};
      root.k = DK::List;
    }
    root.refs.push_back(at);
  }

  Choices& c_;
  const GenOptions o_;
};

}  // namespace

Desc generate(Choices& c, const GenOptions& options) { return Generator(c, options).run(); }

}  // namespace pklharness
