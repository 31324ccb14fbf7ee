// pickle_dump_to_file_1 FILE: write three SimpleObject instances to FILE,
// one pickle each, as the Python original (run as __main__) does.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "picklecodec/encode.hpp"
#include "seed_classes.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pickle_dump_to_file_1 FILE\n";
    return 2;
  }
  try {
    pkl::ClassRegistry registry;
    const int cls = seed::register_simple_object(registry);
    pkl::Graph g;
    std::vector<pkl::NodeId> data;
    for (const char* name : {"pickle", "preserve", "last"})
      data.push_back(registry.instance(g, cls, seed::make_simple_object(name)));

    const int fd = ::open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
      std::cerr << "can't open " << argv[1] << ": " << std::strerror(errno) << "\n";
      return 1;
    }
    pkl::FdSink out_s(fd);
    pkl::EncodeOptions options;
    options.registry = &registry;
    pkl::Encoder encoder(out_s, options);
    for (pkl::NodeId o : data) {
      const auto* obj = pkl::native_cast<seed::SimpleObject>(g, o);
      std::cout << "WRITING: " << obj->name << " (" << obj->name_backwards << ")\n";
      encoder.dump(g, o);
    }
    ::close(fd);
  } catch (const pkl::Error& e) {
    std::cerr << pkl::python_exception_name(e.code()) << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
