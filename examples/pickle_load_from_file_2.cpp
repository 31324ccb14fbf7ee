// pickle_load_from_file_2 FILE: as pickle_load_from_file_1, with the
// SimpleObject class known (registered), so the objects are rebuilt.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "picklecodec/decode.hpp"
#include "seed_classes.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pickle_load_from_file_2 FILE\n";
    return 2;
  }
  const int fd = ::open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::cerr << "can't open " << argv[1] << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  int status = 0;
  try {
    pkl::ClassRegistry registry;
    seed::register_simple_object(registry);  // from pickle_dump_to_file_1 import SimpleObject
    pkl::FdSource in_s(fd, /*may_read_ahead=*/true);
    pkl::DecodeOptions options;
    options.policy = pkl::GlobalPolicy::AllowlistOnly;
    options.registry = &registry;
    pkl::Decoder decoder(in_s, options);
    while (auto o = decoder.next()) {
      const auto* obj = pkl::native_cast<seed::SimpleObject>(*o, o->root());
      if (!obj) throw pkl::Error(pkl::ErrorCode::TypeError, "not a SimpleObject");
      std::cout << "READ: " << obj->name << " (" << obj->name_backwards << ")\n";
    }
  } catch (const pkl::Error& e) {
    std::cerr << pkl::python_exception_name(e.code()) << ": " << e.what() << "\n";
    status = 1;
  }
  ::close(fd);
  return status;
}
