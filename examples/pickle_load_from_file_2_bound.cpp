// pickle_load_from_file_2 with PKL_CLASS: every SimpleObject of FILE read
// back until its end, whoever wrote it.
#include <fstream>
#include <iostream>

#include "seed_bound.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pickle_load_from_file_2_bound FILE\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) throw pkl::Error(pkl::ErrorCode::Io, std::string("can't open ") + argv[1]);
    pkl::StreamSource in_s(in);
    pkl::Decoder decoder(in_s);  // inert: nothing the file names runs
    while (auto g = decoder.next()) {
      const auto o = pkl::from_graph<seed::SimpleObject>(*g);
      std::cout << "READ: " << o.name << " (" << o.name_backwards << ")\n";
    }
  } catch (const pkl::Error& e) {
    std::cerr << pkl::python_exception_name(e.code()) << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
