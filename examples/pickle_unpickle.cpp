// pickle_unpickle: encode a data structure, decode it again, compare.
//
//   data1 = [{"a": "A", "b": 2, "c": 3.0}]
//   data1_string = pickle.dumps(data1)
//   data2 = pickle.loads(data1_string)
//   print("SAME? :", (data1 is data2)); print("EQUAL?:", (data1 == data2))
#include <iostream>

#include <picklecodec/picklecodec.hpp>

int main() {
  pkl::Graph g1;
  const pkl::NodeId d = g1.dict();
  g1.dict_set(d, g1.str("a"), g1.str("A"));
  g1.dict_set(d, g1.str("b"), g1.integer(2));
  g1.dict_set(d, g1.str("c"), g1.floating(3.0));
  const pkl::NodeId items[] = {d};
  const pkl::NodeId data1 = g1.list(items);

  std::cout << "BEFORE:  ";
  pkl::show(g1, data1, std::cout);
  std::cout << "\n";

  const std::string data1_string = pkl::encode(g1, data1, pkl::EncodeOptions{});
  pkl::Graph g2 = pkl::decode(data1_string);
  const pkl::NodeId data2 = g2.root();

  std::cout << "AFTER :  ";
  pkl::show(g2, data2, std::cout);
  std::cout << "\n";
  // A decoded graph is always a new object.
  std::cout << "SAME? : " << (&g1 == &g2 ? "True" : "False") << "\n";
  std::cout << "EQUAL?: " << (pkl::isomorphic(g1, data1, g2, data2) ? "True" : "False") << "\n";
  return 0;
}
