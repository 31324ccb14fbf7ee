// pickle_stream with PKL_CLASS (binding.hpp): several SimpleObject pickles
// written to one stream, then read back until the end of the stream.
//
// `pickle_stream_bound --write FILE` also saves the stream's bytes.
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "seed_bound.hpp"  // PKL_CLASS(SimpleObject, "__main__", "SimpleObject", name, name_backwards)

int main(int argc, char** argv) {
  try {
    std::ostringstream out_s;  // Simulate a file.
    pkl::StreamSink sink(out_s);
    for (const char* name : {"pickle", "preserve", "last"}) {
      const seed::SimpleObject o = seed::make_simple_object(name);
      std::cout << "WRITING : " << o.name << " (" << o.name_backwards << ")\n";
      pkl::dump(sink, o);  // pickle.dump(o, out_s); out_s.flush()
    }
    const std::string bytes = out_s.str();
    if (argc == 3 && std::strcmp(argv[1], "--write") == 0) std::ofstream(argv[2], std::ios::binary) << bytes;

    pkl::MemorySource in_s(bytes);  // Set up a readable stream and read the data.
    pkl::Decoder decoder(in_s);
    while (auto g = decoder.next()) {
      const auto o = pkl::from_graph<seed::SimpleObject>(*g);
      std::cout << "READ    : " << o.name << " (" << o.name_backwards << ")\n";
    }
  } catch (const pkl::Error& e) {
    std::cerr << pkl::python_exception_name(e.code()) << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
