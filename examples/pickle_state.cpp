// pickle_state: a class whose __getstate__ returns a State object and whose
// __setstate__ rebuilds from it. MyClass and State are registered C++
// classes: get_state is MyClass.__getstate__, set_state its __setstate__.
//
// `pickle_state --write FILE` also saves the pickle; `--read FILE` loads
// FILE instead of the pickle it made (to cross-check with Python).
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include <picklecodec/picklecodec.hpp>
#include "seed_classes.hpp"

namespace {

// class State:
//     def __init__(self, name): self.name = name
//     def __repr__(self): return "State({!r})".format(self.__dict__)
struct State {
  std::string name;
};

std::string repr(const State& s) { return "State({'name': " + pkl::repr_str(s.name) + "})"; }

// class MyClass:
//     def __init__(self, name): print(...); self._set_name(name)
//     def _set_name(self, name): self.name = name; self.computed = name[::-1]
struct MyClass {
  std::string name;
  std::string computed;
  void set_name(std::string n) {
    computed = seed::reversed(n);
    name = std::move(n);
  }
  static MyClass make(std::string n) {
    std::cout << "MyClass.__init__(" << n << ")\n";
    MyClass m;
    m.set_name(std::move(n));
    return m;
  }
};

std::string repr(const MyClass& m) {
  return "MyClass(" + pkl::repr_str(m.name) + ") (computed=" + pkl::repr_str(m.computed) + ")";
}

struct Classes {
  pkl::ClassRegistry registry;
  int state = -1;
  int my_class = -1;

  Classes() {
    pkl::ClassHooks s;
    s.module = "__main__";
    s.qualname = "State";
    s.create = [](const pkl::Graph&, pkl::NodeId, pkl::NodeId) { return std::any(State{}); };
    s.set_attr = [](std::any& self, const pkl::Graph& g, std::string_view name, pkl::NodeId v) {
      if (name == "name" && g.kind(v) == pkl::Kind::Str) std::any_cast<State>(&self)->name = g.as_str(v);
    };
    s.get_attrs = [](const std::any& self, pkl::Graph& g) {
      return std::vector<std::pair<std::string, pkl::NodeId>>{{"name", g.str(std::any_cast<State>(&self)->name)}};
    };
    state = registry.add(std::move(s));

    pkl::ClassHooks m;
    m.module = "__main__";
    m.qualname = "MyClass";
    m.create = [](const pkl::Graph&, pkl::NodeId, pkl::NodeId) { return std::any(MyClass{}); };
    // def __getstate__(self):
    //     state = State(self.name); print("__getstate__ -> {!r}".format(state)); return state
    m.get_state = [this](const std::any& self, pkl::Graph& g) {
      State st{std::any_cast<MyClass>(&self)->name};
      std::cout << "__getstate__ -> " << repr(st) << "\n";
      return registry.instance(g, state, st);
    };
    // def __setstate__(self, state):
    //     print("__setstate__({!r})".format(state)); self._set_name(state.name)
    m.set_state = [](std::any& self, const pkl::Graph& g, pkl::NodeId st) {
      const State* s = pkl::native_cast<State>(g, st);
      if (!s) throw pkl::Error(pkl::ErrorCode::TypeError, "__setstate__ expects a State");
      std::cout << "__setstate__(" << repr(*s) << ")\n";
      std::any_cast<MyClass>(&self)->set_name(s->name);
    };
    my_class = registry.add(std::move(m));
  }
};

}  // namespace

int main(int argc, char** argv) {
  const char* write_to = nullptr;
  const char* read_from = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--write") == 0) write_to = argv[i + 1];
    if (std::strcmp(argv[i], "--read") == 0) read_from = argv[i + 1];
  }
  try {
    Classes classes;
    pkl::Graph g;
    const pkl::NodeId inst = classes.registry.instance(g, classes.my_class, MyClass::make("name here"));
    std::cout << "Before: " << repr(*pkl::native_cast<MyClass>(g, inst)) << "\n";

    pkl::EncodeOptions options;
    options.registry = &classes.registry;
    std::string dumped = pkl::encode(g, inst, options);
    if (write_to) std::ofstream(write_to, std::ios::binary) << dumped;
    if (read_from) {
      std::ifstream in(read_from, std::ios::binary);
      dumped.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }

    pkl::DecodeOptions decode_options;
    decode_options.registry = &classes.registry;
    pkl::Graph reloaded = pkl::decode(dumped, decode_options);
    const MyClass* after = pkl::native_cast<MyClass>(reloaded, reloaded.root());
    if (!after) throw pkl::Error(pkl::ErrorCode::TypeError, "the pickle is not a MyClass");
    std::cout << "After: " << repr(*after) << "\n";
  } catch (const pkl::Error& e) {
    std::cerr << pkl::python_exception_name(e.code()) << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
