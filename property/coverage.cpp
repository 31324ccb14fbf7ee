// The generators reach what they claim: over a default run, count the
// graphs holding each edge case, and fail if any count is zero.
#include <algorithm>
#include <cstdio>

#include "harness.hpp"

using namespace pklprop;

namespace {

struct Counts {
  int graphs = 0, cycle = 0, shared = 0, recursive_tuple = 0, falsy_state = 0, merged_key = 0, batch = 0,
      frame = 0, deep = 0, instances = 0, unordered_sets = 0;
};
Counts& counts() {
  static Counts c;
  return c;
}

std::vector<uint32_t> kids(const GNode& x) { return pklharness::children(x); }

// Tarjan's strongly connected components, iteratively. -> component id per node.
std::vector<int> components(const GDoc& d, std::vector<int>& comp_size, std::vector<bool>& self_loop) {
  const size_t n = d.nodes.size();
  std::vector<int> index(n, -1), low(n, 0), comp(n, -1);
  std::vector<bool> on(n, false);
  self_loop.assign(n, false);
  std::vector<uint32_t> st;
  int next = 0, ncomp = 0;
  for (uint32_t s = 0; s < n; ++s) {
    if (index[s] >= 0) continue;
    std::vector<std::pair<uint32_t, size_t>> call{{s, 0}};
    std::vector<std::vector<uint32_t>> ks{kids(d.nodes[s])};
    index[s] = low[s] = next++;
    st.push_back(s);
    on[s] = true;
    while (!call.empty()) {
      auto& [u, pos] = call.back();
      auto& k = ks.back();
      if (pos < k.size()) {
        uint32_t w = k[pos++];
        if (w == u) self_loop[u] = true;
        if (index[w] < 0) {
          index[w] = low[w] = next++;
          st.push_back(w);
          on[w] = true;
          call.emplace_back(w, 0);
          ks.push_back(kids(d.nodes[w]));
        } else if (on[w]) {
          low[u] = std::min(low[u], index[w]);
        }
        continue;
      }
      if (low[u] == index[u]) {
        int size = 0;
        while (true) {
          uint32_t w = st.back();
          st.pop_back();
          on[w] = false;
          comp[w] = ncomp;
          ++size;
          if (w == u) break;
        }
        comp_size.push_back(size);
        ++ncomp;
      }
      const uint32_t done = u;
      call.pop_back();
      ks.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[done]);
    }
  }
  return comp;
}

}  // namespace

static void sample(const Desc& d) {
  Subject s = make_subject(materialize(d));
  Counts& c = counts();
  ++c.graphs;
  std::vector<int> sizes;
  std::vector<bool> loops;
  const std::vector<int> comp = components(s.doc, sizes, loops);
  bool cycle = false, rtuple = false;
  for (size_t i = 0; i < s.doc.nodes.size(); ++i) {
    const bool on_cycle = sizes[static_cast<size_t>(comp[i])] > 1 || loops[i];
    cycle = cycle || on_cycle;
    rtuple = rtuple || (on_cycle && s.doc.nodes[i].k == GK::Tuple);
  }
  std::vector<int> indegree(s.doc.nodes.size(), 0);
  for (const GNode& x : s.doc.nodes)
    for (uint32_t k : kids(x)) ++indegree[k];
  bool shared = false;
  for (size_t i = 0; i < s.doc.nodes.size(); ++i) {
    const GNode& x = s.doc.nodes[i];
    const bool atom = x.k == GK::None || x.k == GK::Bool || x.k == GK::Int || x.k == GK::Float ||
                      (x.k == GK::Tuple && x.items.empty());
    shared = shared || (!atom && indegree[i] >= 2);
  }
  c.cycle += cycle;
  c.recursive_tuple += rtuple;
  c.shared += shared;
  c.falsy_state += s.facts.falsy_states > 0;
  c.merged_key += s.facts.merged_keys > 0;
  c.batch += s.facts.batch_containers > 0;
  c.deep += s.facts.deep;
  c.instances += s.facts.instances;
  c.unordered_sets += s.facts.unordered_sets;
  // A frame boundary: the protocol-4 pickle needs more than one 64 KiB frame
  // (or a payload written outside the frames).
  try {
    c.frame += encode_graph(s, 4).size() > 65536;
  } catch (const pkl::Error&) {
  }
}

TEST(Generators, ReachEveryEdgeCase) {
  check_property("Generators/ReachEveryEdgeCase", 100, &sample);
  if (HasFailure()) return;
  const Counts& c = counts();
  std::printf("[pklprop] generator coverage over %d graphs: cycle %d, shared node %d, recursive tuple %d, "
              "falsy state %d, merged key %d, batch boundary %d, frame boundary %d "
              "(also: deeper than %u %d, registered instances %d, multi-item sets in hash order %d)\n",
              c.graphs, c.cycle, c.shared, c.recursive_tuple, c.falsy_state, c.merged_key, c.batch, c.frame, kDeep,
              c.deep, c.instances, c.unordered_sets);
  EXPECT_GT(c.cycle, 0);
  EXPECT_GT(c.shared, 0);
  EXPECT_GT(c.recursive_tuple, 0);
  EXPECT_GT(c.falsy_state, 0);
  EXPECT_GT(c.merged_key, 0);
  EXPECT_GT(c.batch, 0);
  EXPECT_GT(c.frame, 0);
}
