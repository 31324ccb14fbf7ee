// Uses the decoder, the encoder and the scanner (which pulls in the
// package's libzip, libarchive and zlib), so a missing include path or
// link dependency in the installed package fails this build.
#include <picklecodec/picklecodec.hpp>
#include <picklecodec/scan.hpp>

#include <cstdio>
#include <span>
#include <string>

int main() {
  const std::string p2("\x80\x02]q\x00(K\x01K\x02" "e.", 12);  // pickle.dumps([1, 2], 2)
  pkl::Graph g = pkl::decode(p2);
  const bool same = pkl::encode(g, g.root(), {.protocol = 2}) == p2;
  // pickle.dumps(os.system, 0): dangerous under any policy.
  const std::string danger("cposix\nsystem\np0\n.");
  pkl::scan::Report r = pkl::scan::scan_bytes(
      std::span(reinterpret_cast<const uint8_t*>(danger.data()), danger.size()), pkl::scan::Options{});
  std::printf("%s %s\n", same ? "same" : "different", pkl::scan::verdict_name(r.verdict));
  return same ? 0 : 1;
}
