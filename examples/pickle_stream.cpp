// pickle_stream: several pickles written to one stream, then read back
// without knowing in advance how many there are.
//
//   for o in data: pickle.dump(o, out_s); out_s.flush()
//   in_s = io.BytesIO(out_s.getvalue())
//   while True: o = pickle.load(in_s) ... until EOFError
//
// `pickle_stream --write FILE` also saves the stream's bytes to FILE.
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <picklecodec/picklecodec.hpp>
#include "seed_classes.hpp"

int main(int argc, char** argv) {
  try {
    pkl::ClassRegistry registry;
    const int cls = seed::register_simple_object(registry);

    pkl::Graph g;
    std::vector<pkl::NodeId> data;
    for (const char* name : {"pickle", "preserve", "last"})
      data.push_back(registry.instance(g, cls, seed::make_simple_object(name)));

    // Simulate a file.
    std::ostringstream out_s;
    pkl::StreamSink sink(out_s);
    pkl::EncodeOptions options;
    options.registry = &registry;
    pkl::Encoder encoder(sink, options);

    // Write to the stream.
    for (pkl::NodeId o : data) {
      const auto* obj = pkl::native_cast<seed::SimpleObject>(g, o);
      std::cout << "WRITING : " << obj->name << " (" << obj->name_backwards << ")\n";
      encoder.dump(g, o);  // written and flushed as one piece
    }
    const std::string bytes = out_s.str();
    if (argc == 3 && std::strcmp(argv[1], "--write") == 0) std::ofstream(argv[2], std::ios::binary) << bytes;

    // Set up a readable stream and read the data.
    pkl::MemorySource in_s(bytes);
    pkl::DecodeOptions decode_options;
    decode_options.registry = &registry;
    pkl::Decoder decoder(in_s, decode_options);
    while (auto o = decoder.next()) {
      const auto* obj = pkl::native_cast<seed::SimpleObject>(*o, o->root());
      std::cout << "READ    : " << obj->name << " (" << obj->name_backwards << ")\n";
    }
  } catch (const pkl::Error& e) {
    std::cerr << pkl::python_exception_name(e.code()) << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
