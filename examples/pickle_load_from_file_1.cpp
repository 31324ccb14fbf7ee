// pickle_load_from_file_1 FILE: read the pickles of FILE without knowing the
// SimpleObject class. With the allowlist-only policy an unknown global is
// refused, as the Python original fails:
//   AttributeError: Can't get attribute 'SimpleObject' on <module '__main__' ...>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "picklecodec/decode.hpp"
#include "seed_classes.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pickle_load_from_file_1 FILE\n";
    return 2;
  }
  const int fd = ::open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::cerr << "can't open " << argv[1] << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  try {
    pkl::FdSource in_s(fd, /*may_read_ahead=*/true);
    pkl::DecodeOptions options;
    options.policy = pkl::GlobalPolicy::AllowlistOnly;  // no registry: SimpleObject is unknown
    pkl::Decoder decoder(in_s, options);
    while (auto o = decoder.next()) {
      const auto* obj = pkl::native_cast<seed::SimpleObject>(*o, o->root());
      if (obj) std::cout << "READ: " << obj->name << " (" << obj->name_backwards << ")\n";
    }
  } catch (const pkl::Error& e) {
    std::cout.flush();
    std::cerr << "Traceback (most recent call last):\n"
              << "  File \"pickle_load_from_file_1.py\", line 11, in <module>\n"
              << "    o = pickle.load(in_s)\n"
              << (e.code() == pkl::ErrorCode::NotAllowed ? "AttributeError" : pkl::python_exception_name(e.code()))
              << ": " << e.message() << "\n";
    ::close(fd);
    return 1;
  }
  ::close(fd);
  return 0;
}
