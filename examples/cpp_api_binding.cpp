// docs/cpp-api.md, "Python classes in one line": the section's snippets, run
// by ctest (example_cpp_api_binding). Exits 1 if a result is not the one shown.
#include <picklecodec/binding.hpp>

#include <iostream>

#include "doc_check.hpp"

// [doc:class]
namespace shop {
// class Item:                       (in the Python module `shop`)
//     def __init__(self, name, price, tags): ...
struct Item {
  std::string name;
  double price = 0;
  std::vector<std::string> tags;
};
PKL_CLASS(Item, "shop", "Item", name, price, tags)
}  // namespace shop
// [/doc:class]

// [doc:hooks]
// class Money:
//     def __getstate__(self): return self.cents      # falsy when 0: no BUILD at protocols 0-1
//     def __setstate__(self, cents): self.cents = cents
class Money {
 public:
  int64_t pkl_getstate() const { return cents_; }
  void pkl_setstate(const int64_t& cents) { cents_ = cents; }
  int64_t cents() const { return cents_; }
  void set(int64_t c) { cents_ = c; }

 private:
  int64_t cents_ = 0;
  PKL_CLASS_INTRUSIVE(Money, "shop", "Money")
};
// [/doc:hooks]

int main() {
  // [doc:use]
  shop::Item item{"pen", 1.25, {"office"}};
  std::string bytes = pkl::dump(item);        // as pickle.dumps(shop.Item('pen', 1.25, ['office']))
  shop::Item back = pkl::load<shop::Item>(bytes);
  auto many = pkl::load<std::vector<shop::Item>>(pkl::dump(std::vector<shop::Item>{item, item}));
  // [/doc:use]
  CHECK(back.name == "pen" && back.price == 1.25 && back.tags == std::vector<std::string>{"office"});
  CHECK(many.size() == 2);
  Money m;
  m.set(250);
  CHECK(pkl::load<Money>(pkl::dump(m)).cents() == 250);
  try {
    pkl::load<shop::Item>(pkl::dump(m));
    CHECK(false);
  } catch (const pkl::Error& e) {
    CHECK(e.message() == "expected shop.Item, got shop.Money");
  }
  return 0;
}
