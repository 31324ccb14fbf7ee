// What several pickletool commands share: opening FILE or "-", and the
// decoder's command-line flags.
#pragma once

#include <string>

#include "picklecodec/decode.hpp"

namespace CLI {
class App;
}

// A file descriptor for a path, or standard input / output for "-";
// closed on destruction when it was opened here.
class OpenFd {
 public:
  enum Mode { Read, Write };
  OpenFd(const std::string& path, Mode mode);
  ~OpenFd();
  OpenFd(const OpenFd&) = delete;
  OpenFd& operator=(const OpenFd&) = delete;
  int fd() const noexcept { return fd_; }
  // A regular file opened here may be read ahead; a pipe must not be read
  // past the STOP of the pickle being returned.
  bool is_named() const noexcept { return own_; }

 private:
  int fd_;
  bool own_;
};

// --encoding, --strict-limits and --persistent-id: as
// pickle.loads(encoding=...), the budget Limits::strict(), and what a
// persistent id becomes (keep: a PersId node, written back as it was read;
// error: CPython's error without persistent_load).
struct DecodeFlags {
  std::string encoding = "ascii";  // ascii, latin1 or bytes
  bool strict = false;
  std::string persistent_id = "keep";  // keep or error

  void add_to(CLI::App* cmd);
  void apply(pkl::DecodeOptions& options) const;
};
