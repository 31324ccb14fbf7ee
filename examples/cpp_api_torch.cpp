// docs/cpp-api.md, "PyTorch checkpoints": the section's snippets, run by
// ctest (example_cpp_api_torch) on tests/fixtures/torch_small.pt, the path
// in argv[1]. Exits 1 if a result is not the one shown.
#include <picklecodec/torch.hpp>

#include <iostream>

#include "doc_check.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: cpp_api_torch CHECKPOINT\n";
    return 2;
  }
  const std::string path = argv[1];
  // [doc:open]
  auto ckpt = pkl::torch::Checkpoint::open(path);   // mapped; zip or legacy, by content
  for (const auto& [name, t] : ckpt.tensors())       // "model.0.weight", ...
    if (name.rfind("model.", 0) == 0) std::cout << name << " " << t.dtype << " " << t.numel() << "\n";
  // [/doc:open]

  // [doc:values]
  auto all = ckpt.tensors();
  std::map<std::string, pkl::torch::Tensor> named(all.begin(), all.end());
  const pkl::torch::Tensor& w = named.at("model.0.weight");
  std::span<const float> in_file = w.as<float>();    // contiguous: the file's bytes, no copy
  std::vector<float> t = named.at("views.transposed").to_vector<float>();  // strided: gathered in C order
  // [/doc:values]
  CHECK(in_file.size() == 12);
  CHECK(t.size() == 12 && t[1] == 4.0f);

  // [doc:tree]
  pkl::Value root(ckpt.graph());                     // the rest of the tree, untyped
  int step = root["step"].get<int>();                // 7
  ckpt.show(std::cout);                              // what `pickletool show model.pt` prints
  // [/doc:tree]
  CHECK(step == 7);
  return 0;
}
