// docs/cpp-api.md, "The value graph: decode and encode": every snippet of that
// section, run by ctest (example_cpp_api_graph); tests/cpp_api_docs_test.py
// checks that the document quotes this file exactly. Exits 1 if a result is
// not the one shown.
#include <picklecodec/picklecodec.hpp>

#include <sstream>
#include <string>

#include "doc_check.hpp"

int main() {
  // [doc:encode]
  std::string bytes("\x80\x02]q\x00(K\x01K\x02" "e.", 12);    // pickle.dumps([1, 2], 2)
  pkl::Graph g = pkl::decode(bytes);
  std::string p2 = pkl::encode(g, g.root(), {.protocol = 2});  // the same bytes
  std::string p4 = pkl::encode(g, g.root());                   // pickle.DEFAULT_PROTOCOL (4)
  pkl::NodeId first = g.items(g.root())[0];
  std::string one = pkl::encode(g, first, {.protocol = 0});     // b'I1\n.': any node can be the root
  // [/doc:encode]
  CHECK(p2 == bytes);
  CHECK(p4 == std::string("\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02" "e.", 20));
  CHECK(one == "I1\n.");

  // [doc:encode-to]
  std::ostringstream file;
  pkl::StreamSink sink(file);                 // or pkl::FdSink(fd), pkl::StringSink(str)
  pkl::encode_to(sink, g, g.root());          // one pickle, written and flushed
  pkl::Encoder stream(sink, {.protocol = 5});  // several, as repeated pickle.dump(obj, file)
  stream.dump(g, g.root());
  stream.dump(g, first);
  // [/doc:encode-to]
  CHECK(file.str() == p4 + pkl::encode(g, g.root(), {.protocol = 5}) + pkl::encode(g, first, {.protocol = 5}));
  CHECK(stream.count() == 2);
  return 0;
}
