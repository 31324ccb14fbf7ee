// pickle_state with PKL_CLASS (binding.hpp): the program of pickle_state.cpp,
// whose classes take ~40 lines of ClassHooks, with a line per class. MyClass's
// __getstate__ returns a State; its __setstate__ rebuilds from one.
//
// `pickle_state_bound --write FILE` also saves the pickle.
#include <cstring>
#include <fstream>
#include <iostream>

#include "picklecodec/binding.hpp"
#include "picklecodec/repr.hpp"
#include "seed_classes.hpp"

// class State:
//     def __init__(self, name): self.name = name
struct State {
  std::string name;
};
PKL_CLASS(State, "__main__", "State", name)

std::string repr(const State& s) { return "State({'name': " + pkl::repr_str(s.name) + "})"; }

// class MyClass: __init__ sets name and computed = name[::-1];
// __getstate__ returns State(self.name); __setstate__ calls _set_name(state.name)
struct MyClass {
  std::string name, computed;
  void set_name(std::string n) {
    computed = seed::reversed(n);
    name = std::move(n);
  }
  State pkl_getstate() const {
    State st{name};
    std::cout << "__getstate__ -> " << repr(st) << "\n";
    return st;
  }
  void pkl_setstate(const State& st) {
    std::cout << "__setstate__(" << repr(st) << ")\n";
    set_name(st.name);
  }
};
PKL_CLASS(MyClass, "__main__", "MyClass")

std::string repr(const MyClass& m) {
  return "MyClass(" + pkl::repr_str(m.name) + ") (computed=" + pkl::repr_str(m.computed) + ")";
}

int main(int argc, char** argv) {
  try {
    MyClass inst;
    std::cout << "MyClass.__init__(name here)\n";
    inst.set_name("name here");
    std::cout << "Before: " << repr(inst) << "\n";

    const std::string dumped = pkl::dump(inst);
    if (argc == 3 && std::strcmp(argv[1], "--write") == 0) std::ofstream(argv[2], std::ios::binary) << dumped;

    const MyClass reloaded = pkl::load<MyClass>(dumped);
    std::cout << "After: " << repr(reloaded) << "\n";
  } catch (const pkl::Error& e) {
    std::cerr << pkl::python_exception_name(e.code()) << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
