// fuzz_tools: the readers pickletool puts in front of people, on any bytes.
// `dis` parses the input on its own (as pickletools does, not through the
// decoder), and `show` / `show --json` lay out whatever graph the strict
// decoder accepts, shared and cyclic nodes included. None of them may crash,
// hang, or throw anything but pkl::Error; what they write goes to a stream
// that only counts, so a large layout costs no memory here.
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <streambuf>
#include <string>

#include "fuzz_common.hpp"
#include "picklecodec/dis.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/show.hpp"

namespace {

class CountingBuf : public std::streambuf {
 public:
  uint64_t count = 0;

 protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) ++count;
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char*, std::streamsize n) override {
    count += static_cast<uint64_t>(n);
    return n;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pklfuzz;
  static const pkl::DecodeOptions strict = strict_options();
  const Bytes input(data, size);

  CountingBuf dis_buf;
  std::ostream dis_out(&dis_buf);
  try {
    const uint64_t end = pkl::disassemble(input, dis_out);
    if (end == 0 || end > size) fail("dis: offset past STOP out of range", {{"end", std::to_string(end)}});
  } catch (const pkl::Error&) {
    // pickletools rejects it too; the lines before the fault were written.
  }

  Decoded d = try_decode(input, strict);
  if (!d.ok()) return 0;
  CountingBuf text_buf, json_buf;
  std::ostream text(&text_buf), json(&json_buf);
  try {
    pkl::show(*d.graph, d.graph->root(), text);
    pkl::show_json(*d.graph, d.graph->root(), json);
  } catch (const pkl::Error& e) {
    fail("show: an accepted graph could not be shown", {{"error", e.what()}});
  }
  if (text_buf.count == 0 || json_buf.count == 0) fail("show: empty output for an accepted graph", {});
  return 0;
}
