// docs/cpp-api.md, "numpy arrays": the section's snippets, run by ctest
// (example_cpp_api_ndarray). Exits 1 if a result is not the one shown.
#include <picklecodec/ndarray.hpp>

#include <iostream>

#include "doc_check.hpp"

int main() {
  // [doc:write]
  std::vector<float> pixels{0, 1, 2, 3, 4, 5};
  pkl::ndarray image = pkl::ndarray::of(pixels, {2, 3});  // a view: pixels are not copied
  std::string bytes = pkl::dump(image);  // numpy's own pickle of np.arange(6, dtype='f4').reshape(2, 3)
  // [/doc:write]

  // [doc:read]
  auto a = pkl::load<pkl::ndarray>(bytes);       // or pkl::as_ndarray(graph, node) for a view of a graph
  std::cout << a.dtype.str() << " " << a.shape[0] << "x" << a.shape[1] << "\n";  // <f4 2x3
  std::span<const float> v = a.as<float>();      // the decoded bytes themselves
  try {
    a.as<double>();
  } catch (const pkl::Error& e) {
    std::cout << e.what() << "\n";               // the array holds <f4, not <f8
  }
  // [/doc:read]
  CHECK(a.dtype.str() == "<f4" && a.shape == (std::vector<int64_t>{2, 3}));
  CHECK(v.size() == 6 && v[5] == 5.0f);
  CHECK(a.strides == (std::vector<int64_t>{12, 4}));

  // [doc:mixed]
  // pickle.dumps({'weights': np.array(...), 'step': 7})
  std::map<std::string, std::variant<pkl::ndarray, int>> ckpt{{"weights", image}, {"step", 7}};
  auto back = pkl::load<std::map<std::string, std::variant<pkl::ndarray, int>>>(pkl::dump(ckpt));
  const auto& w = std::get<pkl::ndarray>(back.at("weights"));  // its data lives as long as w
  // [/doc:mixed]
  CHECK(w.to_vector<float>() == pixels);
  return 0;
}
