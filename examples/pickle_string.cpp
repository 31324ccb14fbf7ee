// pickle_string: encode a data structure to a string and print it.
//
//   data = [{"a": "A", "b": 2, "c": 3.0}]
//   print("DATA:", end=" "); pprint.pprint(data)
//   data_string = pickle.dumps(data)
//   print("PICKLE: {!r}".format(data_string))
#include <iostream>

#include <picklecodec/picklecodec.hpp>

int main() {
  pkl::Graph g;
  const pkl::NodeId d = g.dict();
  g.dict_set(d, g.str("a"), g.str("A"));
  g.dict_set(d, g.str("b"), g.integer(2));
  g.dict_set(d, g.str("c"), g.floating(3.0));
  const pkl::NodeId items[] = {d};
  const pkl::NodeId data = g.list(items);

  std::cout << "DATA: ";
  pkl::show(g, data, std::cout);
  std::cout << "\n";

  const std::string data_string = pkl::encode(g, data, pkl::EncodeOptions{});  // protocol 4, as pickle.dumps
  std::cout << "PICKLE: " << pkl::repr_bytes(data_string) << "\n";
  return 0;
}
