// pickle_dump_to_file_1 with PKL_CLASS: three SimpleObjects written to FILE,
// one pickle each, as pickle.dump(o, out_s) writes them.
#include <fstream>
#include <iostream>

#include "seed_bound.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pickle_dump_to_file_1_bound FILE\n";
    return 2;
  }
  try {
    std::ofstream out_s(argv[1], std::ios::binary);
    pkl::StreamSink sink(out_s);
    for (const char* name : {"pickle", "preserve", "last"}) {
      const seed::SimpleObject o = seed::make_simple_object(name);
      std::cout << "WRITING: " << o.name << " (" << o.name_backwards << ")\n";
      pkl::dump(sink, o);
    }
  } catch (const pkl::Error& e) {
    std::cerr << pkl::python_exception_name(e.code()) << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
