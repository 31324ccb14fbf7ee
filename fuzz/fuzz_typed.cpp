// fuzz_typed: the typed layer (typed.hpp, binding.hpp, ndarray.hpp) and the
// PyTorch archive reader (torch.hpp) on any bytes, under the strict budget.
// No input may crash, hang, leak, or throw anything but pkl::Error.
//
// The first byte chooses: even, the rest is a pickle; its graph is loaded as
// values of several C++ types (a value of any shape, containers, a bound
// class, numpy arrays wherever an object is one), and a value that loads is
// dumped at every protocol, loaded again and dumped again: the same bytes.
// Odd, the rest is a torch.save file (zip or legacy): its tensors are read
// and gathered, and its tree printed.
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "fuzz_common.hpp"
#include "picklecodec/binding.hpp"
#include "picklecodec/ndarray.hpp"
#include "picklecodec/torch.hpp"

namespace {

// A Python value of any shape.
struct Py {
  using List = std::vector<Py>;
  using Dict = std::map<std::string, Py>;
  using Pair = std::pair<std::shared_ptr<Py>, std::shared_ptr<Py>>;  // a 2-tuple, its items shared when they are
  std::variant<std::monostate, bool, int64_t, double, std::string, pkl::bytes, List, Dict, std::set<int64_t>, Pair> v;
};
pkl::NodeId to_pickle(pkl::Dumper& d, const Py& p) { return d.dump(p.v); }
void from_pickle(pkl::Loader& l, pkl::NodeId n, Py& p) { l.load(n, p.v); }

struct Point {
  double x = 0, y = 0;
  std::optional<std::string> label;
};
PKL_CLASS(Point, "__main__", "Point", x, y, label)

// Loads T from the graph; when it loads, checks dump -> load -> dump is stable.
template <class T>
void typed_round_trip(const pkl::Graph& g, const char* what) {
  T v{};
  try {
    v = pkl::from_graph<T>(g);
  } catch (const pkl::Error&) {
    return;
  }
  for (int p = 0; p <= pklfuzz::kMaxProtocol; ++p) {
    std::string first, second;
    try {
      first = pkl::dump(v, p);
    } catch (const pkl::Error& e) {
      // what a load made is a value Python can hold: only a budget may refuse it
      if (e.code() != pkl::ErrorCode::ResourceLimit)
        pklfuzz::fail("typed dump of a loaded value failed", {{"type", what}, {"error", pklfuzz::describe(e)}});
      return;
    }
    try {
      second = pkl::dump(pkl::load<T>(first, pklfuzz::roomy_options()), p);
    } catch (const pkl::Error& e) {
      pklfuzz::fail("typed load of a typed dump failed", {{"type", what}, {"error", pklfuzz::describe(e)},
                                                           {"pickle", pklfuzz::hex(first)}});
    }
    if (first != second)
      pklfuzz::fail("typed dump is not stable", {{"type", what}, {"first", pklfuzz::hex(first)},
                                                 {"second", pklfuzz::hex(second)}});
  }
}

// Every object node that is a numpy array: its data is read whole.
void arrays(const pkl::Graph& g) {
  for (pkl::NodeId n = 0; n < g.size(); ++n) {
    if (g.kind(n) != pkl::Kind::Object) continue;
    try {
      const pkl::ndarray a = pkl::as_ndarray(g, n);
      unsigned sum = 0;
      for (std::byte b : a.data) sum += static_cast<unsigned>(b);
      (void)a.dtype.str();
      if (a.dtype.itemsize == 8) (void)a.to_vector<double>();
      if (a.dtype.itemsize == 4) (void)a.to_vector<float>();
      if (sum == 0xffffffffu) std::abort();  // keeps the loop
    } catch (const pkl::Error&) {
    }
  }
}

void checkpoint(pklfuzz::Bytes data) {
  try {
    const auto ck = pkl::torch::Checkpoint::from_memory(data, pklfuzz::strict_options());
    for (const auto& [name, t] : ck.tensors()) {
      switch (t.element_size) {
        case 1: (void)t.to_vector<uint8_t>(); break;
        case 2: (void)t.to_vector<uint16_t>(); break;
        case 4: (void)t.to_vector<uint32_t>(); break;
        case 8: (void)t.to_vector<uint64_t>(); break;
        default: break;
      }
    }
    std::ostringstream out;
    ck.show(out);
  } catch (const pkl::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const pklfuzz::Bytes rest(data + 1, size - 1);
  if (data[0] & 1) {
    checkpoint(rest);
    return 0;
  }
  static const pkl::DecodeOptions strict = pklfuzz::strict_options();
  pklfuzz::Decoded d = pklfuzz::try_decode(rest, strict);
  if (!d.ok()) return 0;
  const pkl::Graph& g = *d.graph;
  typed_round_trip<Py>(g, "Py");
  typed_round_trip<std::vector<double>>(g, "vector<double>");
  typed_round_trip<std::map<std::string, std::vector<int32_t>>>(g, "map<string, vector<int32_t>>");
  typed_round_trip<std::vector<std::shared_ptr<std::string>>>(g, "vector<shared_ptr<string>>");
  typed_round_trip<Point>(g, "Point");
  typed_round_trip<std::vector<Point>>(g, "vector<Point>");
  arrays(g);
  return 0;
}
