#include "desc.hpp"

#include <algorithm>
#include <bit>
#include <sstream>

#include "picklecodec/show.hpp"

namespace pklharness {

void showValue(const Desc& d, std::ostream& os) {
  try {
    GDoc g = materialize(d);
    pkl::Graph graph = to_graph(g);
    std::ostringstream s;
    pkl::show(graph, graph.root(), s);
    std::string text = s.str();
    if (text.size() > 8000) text = text.substr(0, 4000) + "\n... (" + std::to_string(text.size() - 8000) + " characters) ...\n" + text.substr(text.size() - 4000);
    os << "pickletool show:\n" << text << "\n";
    std::string json = to_json(g);
    if (json.size() > 8000) json = json.substr(0, 8000) + "... (" + std::to_string(json.size()) + " characters in all)";
    os << "graph JSON: " << json;
  } catch (const std::exception& e) {
    os << "<description not materializable: " << e.what() << ">";
  }
}

}  // namespace pklharness

namespace pklprop {

namespace {

// RapidCheck as the generator's source of choices: every pick shrinks
// toward its low end.
class RcChoices final : public Choices {
 public:
  int64_t range(int64_t lo, int64_t hi) override { return uniform<int64_t>(lo, hi + 1); }
  int64_t sized(int64_t lo, int64_t hi) override { return *rc::gen::inRange<int64_t>(lo, hi + 1); }
  int64_t any_int64() override { return *rc::gen::arbitrary<int64_t>(); }
  uint64_t any_bits() override { return *rc::gen::arbitrary<uint64_t>(); }
};

}  // namespace

rc::Gen<Desc> gen_desc(GenOptions options) {
  return rc::gen::withSize([options](int size) {
    return rc::gen::exec([size, options] {
      GenOptions o = options;
      o.size = size;
      RcChoices c;
      return generate(c, o);
    });
  });
}


Facts analyze(const GDoc& d, const pkl::Graph& g, const std::vector<pkl::NodeId>& ids) {
  Facts f;
  const size_t n = d.nodes.size();
  // The pickler's recursion depth: the depth of a depth-first walk with a memo.
  {
    std::vector<uint8_t> seen(n, 0);
    std::vector<std::pair<uint32_t, size_t>> stack{{d.root, 0}};
    seen[d.root] = 1;
    size_t maxd = 1;
    auto kids = [](const GNode& x) { return pklharness::children(x); };
    std::vector<std::vector<uint32_t>> kid_cache;
    kid_cache.reserve(64);
    std::vector<std::vector<uint32_t>> frames{kids(d.nodes[d.root])};
    while (!stack.empty()) {
      auto& [u, pos] = stack.back();
      auto& ks = frames.back();
      if (pos < ks.size()) {
        uint32_t c = ks[pos++];
        if (!seen[c]) {
          seen[c] = 1;
          stack.emplace_back(c, 0);
          frames.push_back(kids(d.nodes[c]));
          maxd = std::max(maxd, stack.size());
        }
        continue;
      }
      (void)u;
      stack.pop_back();
      frames.pop_back();
    }
    f.deep = maxd > kDeep;
    f.very_deep = maxd > 100000;
    f.max_chain = static_cast<uint32_t>(maxd);
  }
  for (size_t i = 0; i < n; ++i) {
    const GNode& x = d.nodes[i];
    const pkl::NodeId id = ids[i];
    switch (x.k) {
      case GK::Int: {
        size_t digits = x.v.size() - (x.v[0] == '-');
        if (digits > 4300) f.big_int_text = true;
        break;
      }
      case GK::Float: {
        double v = std::bit_cast<double>(x.bits);
        if (v != v) f.nan = true;
        break;
      }
      case GK::Str:
      case GK::Bytes:
      case GK::ByteArray:
        if (x.v.size() >= 65536 - 64) ++f.big_payloads;
        break;
      case GK::Dict:
        f.merged_keys += static_cast<int>(x.pairs.size() - g.length(id));
        if (g.length(id) >= 999 && (g.length(id) + 1) % 1000 <= 2) ++f.batch_containers;
        break;
      case GK::Set:
      case GK::FrozenSet: {
        const size_t len = g.length(id);
        f.merged_keys += static_cast<int>(x.items.size() - len);
        if (len >= 999 && (len + 1) % 1000 <= 2) ++f.batch_containers;
        if (len >= 2) {
          // CPython iterates a set of small non-negative ints inserted in
          // ascending order in that order; anything else is hash order.
          bool ordered = true;
          int64_t prev = -1;
          for (pkl::NodeId m : g.items(id)) {
            if (g.kind(m) != pkl::Kind::Int || !g.int_fits64(m) || g.as_int(m) <= prev ||
                g.as_int(m) >= static_cast<int64_t>(std::max<size_t>(8, len))) {
              ordered = false;
              break;
            }
            prev = g.as_int(m);
          }
          if (!ordered) f.unordered_sets = true;
        }
        break;
      }
      case GK::List:
      case GK::Tuple:
        if (x.items.size() >= 999 && (x.items.size() + 1) % 1000 <= 2) ++f.batch_containers;
        break;
      case GK::Object:
        if (x.shape == kR) f.instances = true;
        if (x.items.size() >= 999 && (x.items.size() + 1) % 1000 <= 2) ++f.batch_containers;
        if (x.state >= 0 && !g.truthy(ids[static_cast<size_t>(x.state)])) ++f.falsy_states;
        if (x.callable >= 0 && d.nodes[static_cast<size_t>(x.callable)].k == GK::Global &&
            d.nodes[static_cast<size_t>(x.callable)].v == "copyreg") {
          if (d.nodes[static_cast<size_t>(x.callable)].name == "__newobj_ex__") f.newobj_ex_object = true;
          if (d.nodes[static_cast<size_t>(x.callable)].name == "__newobj__") f.newobj_object = true;
        }
        break;
      case GK::Instance:
        f.instances = true;
        if (x.state >= 0 && !g.truthy(ids[static_cast<size_t>(x.state)])) ++f.falsy_states;
        if (x.nx_kwargs >= 0 && !d.nodes[static_cast<size_t>(x.nx_kwargs)].pairs.empty()) f.kwargs_instance = true;
        break;
      default:
        break;
    }
  }
  return f;
}

}  // namespace pklprop
