#include "cli_common.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "picklecodec/error.hpp"
#include "picklecodec/limits.hpp"

OpenFd::OpenFd(const std::string& path, Mode mode) : fd_(mode == Read ? 0 : 1), own_(false) {
  if (path == "-") return;
  const int flags = mode == Read ? O_RDONLY | O_CLOEXEC : O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  fd_ = ::open(path.c_str(), flags, 0666);
  if (fd_ < 0) throw pkl::Error(pkl::ErrorCode::Io, "can't open '" + path + "': " + std::strerror(errno));
  own_ = true;
}

OpenFd::~OpenFd() {
  if (own_) ::close(fd_);
}

void DecodeFlags::add_to(CLI::App* cmd) {
  // Read as text and mapped in apply(): a CheckedTransformer onto the enum
  // prints the enum's values in --help as blanks.
  cmd->add_option("--encoding", encoding,
                  "how Python 2 str (STRING opcodes) decode, as pickle.loads(encoding=...)")
      ->check(CLI::IsMember({"ascii", "latin1", "bytes"}, CLI::ignore_case))
      ->default_str("ascii");
  cmd->add_flag("--strict-limits", strict, "decode with the tight budget Limits::strict()");
  cmd->add_option("--persistent-id", persistent_id,
                  "persistent ids (PERSID, BINPERSID): keep them as persistent-id nodes, written back as "
                  "read, or refuse them as an Unpickler without persistent_load does")
      ->check(CLI::IsMember({"keep", "error"}))
      ->default_str("keep");
}

void DecodeFlags::apply(pkl::DecodeOptions& options) const {
  // IsMember(ignore_case) accepts "LATIN1" but hands it on as typed.
  std::string name = encoding;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  options.string_encoding = name == "latin1" ? pkl::StringEncoding::Latin1
                            : name == "bytes" ? pkl::StringEncoding::Bytes
                                              : pkl::StringEncoding::Ascii;
  if (strict) options.limits = pkl::Limits::strict();
  options.persistent_ids = persistent_id == "error" ? pkl::PersistentIds::Refuse : pkl::PersistentIds::Keep;
}
