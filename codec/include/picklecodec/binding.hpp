// A C++ type as a Python class, in one line:
//
//   struct Point { double x = 0, y = 0; };
//   PKL_CLASS(Point, "geometry", "Point", x, y)     // next to the type, any namespace
//
//   pkl::dump(Point{1, 2});   // pickle.dumps(geometry.Point(1, 2)), byte for byte as CPython
//   pkl::load<Point>(bytes);  // from geometry.Point's pickle, at any protocol
//
// A bound type is written as CPython writes an instance of a plain Python
// class (object.__reduce_ex__): protocols 2+ NEWOBJ of the class, 0-1
// copyreg._reconstructor(cls, object, None), then BUILD of its state. The
// state is the instance's attribute dict, the listed members in order (an
// empty dict is no state at all, as object.__getstate__ returns None for an
// empty __dict__). Optional member functions give Python's other hooks, with
// Python's rules:
//
//   S pkl_getstate() const;          // __getstate__: the state to write (any
//                                    //   convertible S; a falsy state writes no
//                                    //   BUILD at protocols 0-1; None none at all)
//   void pkl_setstate(const S&);     // __setstate__: called with the state when
//                                    //   the pickle has one (BUILD), else not
//   std::tuple<A...> pkl_getnewargs() const;  // __getnewargs__: NEWOBJ's arguments
//                                    //   (protocols 2+); loading constructs T(A...)
//
// Without pkl_setstate a load sets the listed members from the state's dict
// (and from both dicts of a (dict, slots) state); members the pickle does not
// hold keep their default, keys no member names are ignored. Errors name
// the attribute: ".name: expected str, got int". Where __getnewargs__ and
// the attributes hold equal strs or bytes, they are written as one object,
// as Python's __getnewargs__ returning the attributes themselves does.
//
// PKL_CLASS_INTRUSIVE(...) is the same inside the class body (a friend, so
// private members may be listed). The hook API of registry.hpp stays for
// full control (ClassHooks); pkl::dump registers a bound class's ClassHooks
// itself, and pkl::load reads the inert object the decoder makes.
#pragma once

#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>

#include "picklecodec/registry.hpp"
#include "picklecodec/typed.hpp"

namespace pkl {

template <class T, class M>
struct Member {
  std::string_view name;
  M T::*ptr;
};
template <class T, class M>
constexpr Member<T, M> member(std::string_view name, M T::*ptr) {
  return {name, ptr};
}

template <class T, class... Ms>
struct ClassBinding {
  std::string_view module;
  std::string_view qualname;
  std::tuple<Ms...> members;
};
template <class T, class... Ms>
constexpr ClassBinding<T, Ms...> class_binding(std::string_view module, std::string_view qualname, Ms... members) {
  return {module, qualname, std::tuple<Ms...>(members...)};
}

// A type bound by PKL_CLASS: pkl_class(const T*) is found by ADL.
template <class T>
concept bound_class = requires(const T* p) { pkl_class(p); };

namespace detail {

template <class T>
concept has_getstate = requires(const T& t) { t.pkl_getstate(); };
template <class T>
concept has_getnewargs = requires(const T& t) { t.pkl_getnewargs(); };

template <class C, class A>
A setstate_arg(void (C::*)(A));
template <class T>
concept has_setstate = requires { &T::pkl_setstate; };
template <class T>
using setstate_type = std::decay_t<decltype(setstate_arg(&T::pkl_setstate))>;

// What the encoder's hooks of a bound class read from an instance node: the
// parts converted when the instance was dumped (so that conversion errors
// carry their path, and nothing is converted twice).
struct BoundParts {
  std::vector<std::pair<std::string, NodeId>> attrs;
  NodeId state = kNoNode;    // pkl_getstate's node
  NodeId newargs = kNoNode;  // pkl_getnewargs's tuple
};

// The (module, qualname) a decoded object is an instance of, as CPython's
// reductions of a plain class spell it, with the arguments passed to
// __new__: NEWOBJ (copyreg.__newobj__(cls, *args)), copyreg._reconstructor
// (cls, object, None), or a call of the class itself (REDUCE, INST, OBJ).
// kNoNode when the object is none of these.
NodeId instance_class(const Graph& g, NodeId obj, std::span<const NodeId>* newargs);
// A str or bytes attribute equal to an item of __getnewargs__'s tuple becomes
// that item's node: Python's __getnewargs__ returns the attributes
// themselves, so the pickle refers to one object twice (a memo reference).
void share_newargs(const Graph& g, BoundParts& parts);
// The dicts of a state that set attributes, as BUILD reads them: a dict, or
// the dicts of a (dict or None, slots dict or None) tuple. Empty otherwise.
std::vector<NodeId> state_dicts(const Graph& g, NodeId state);
// The value of a dict's str key, or kNoNode.
NodeId dict_str_get(const Graph& g, NodeId dict, std::string_view key);

template <class T>
int class_index(Dumper& d) {
  auto& idx = d.class_indexes();
  if (auto it = idx.find(std::type_index(typeid(T))); it != idx.end()) return it->second;
  const auto b = pkl_class(static_cast<const T*>(nullptr));
  ClassHooks h;
  h.module = std::string(b.module);
  h.qualname = std::string(b.qualname);
  if constexpr (has_getstate<T>) {
    h.get_state = [](const std::any& self, Graph&) { return std::any_cast<const BoundParts&>(self).state; };
  } else {
    h.get_attrs = [](const std::any& self, Graph&) { return std::any_cast<const BoundParts&>(self).attrs; };
  }
  if constexpr (has_getnewargs<T>) {
    h.get_newargs = [](const std::any& self, Graph&) { return std::any_cast<const BoundParts&>(self).newargs; };
  }
  const int i = d.registry().add(std::move(h));
  idx.emplace(std::type_index(typeid(T)), i);
  return i;
}

}  // namespace detail

template <bound_class T>
struct convert<T> {
  static NodeId dump(Dumper& d, const T& v) {
    const auto b = pkl_class(static_cast<const T*>(nullptr));
    detail::BoundParts parts;
    // CPython's order: __getnewargs__ first, then the state.
    if constexpr (detail::has_getnewargs<T>) {
      parts.newargs = detail::at_segment([&] { return d.dump(v.pkl_getnewargs()); }, ".__getnewargs__()");
    }
    if constexpr (detail::has_getstate<T>) {
      parts.state = detail::at_segment([&] { return d.dump(v.pkl_getstate()); }, ".__getstate__()");
    } else {
      std::apply(
          [&](const auto&... m) {
            (parts.attrs.emplace_back(std::string(m.name),
                                      detail::at_segment([&] { return d.dump(v.*(m.ptr)); }, "." + std::string(m.name))),
             ...);
          },
          b.members);
    }
    if (parts.newargs != kNoNode) detail::share_newargs(d.graph(), parts);
    const int index = detail::class_index<T>(d);
    return d.registry().instance(d.graph(), index, std::any(std::move(parts)));
  }

  static void load(Loader& l, NodeId n, T& out) {
    const Graph& g = l.graph();
    const auto b = pkl_class(static_cast<const T*>(nullptr));
    const std::string expected = std::string(b.module) + "." + std::string(b.qualname);
    std::span<const NodeId> newargs;
    const NodeId cls = g.kind(n) == Kind::Object ? detail::instance_class(g, n, &newargs) : kNoNode;
    if (cls == kNoNode) l.mismatch(n, expected);
    const GlobalData& gd = g.global_data(cls);
    if (gd.module != b.module || gd.qualname != b.qualname)
      l.fail(ErrorCode::TypeError, "expected " + expected + ", got " + gd.module + "." + gd.qualname);
    if constexpr (detail::has_getnewargs<T>) {
      using Args = decltype(std::declval<const T&>().pkl_getnewargs());
      if (!newargs.empty()) {
        constexpr size_t N = std::tuple_size_v<Args>;
        if (newargs.size() != N)
          l.fail(ErrorCode::TypeError, "__new__ takes " + std::to_string(N) + " arguments, the pickle gives " +
                                           std::to_string(newargs.size()));
        Args args{};
        [&]<size_t... I>(std::index_sequence<I...>) {
          (detail::at_segment([&] { l.load(newargs[I], std::get<I>(args)); },
                              ".__getnewargs__()[" + std::to_string(I) + "]"),
           ...);
        }(std::make_index_sequence<N>{});
        out = std::make_from_tuple<T>(std::move(args));
      }
    }
    const NodeId state = g.object_data(n).state;
    if (state == kNoNode) return;  // no BUILD: nothing to set, __setstate__ not called
    if constexpr (detail::has_setstate<T>) {
      detail::setstate_type<T> s{};
      detail::at_segment([&] { l.load(state, s); }, ".__setstate__()");
      out.pkl_setstate(s);
    } else {
      const std::vector<NodeId> dicts = detail::state_dicts(g, state);
      if (dicts.empty()) {
        if (g.kind(state) == Kind::None) return;
        l.mismatch(state, "a state dict");
      }
      for (const NodeId dict : dicts) {  // in BUILD's order: the slots dict's values win
        std::apply(
            [&](const auto&... m) {
              (
                  [&] {
                    const NodeId v = detail::dict_str_get(g, dict, m.name);
                    if (v != kNoNode) detail::at_segment([&] { l.load(v, out.*(m.ptr)); }, "." + std::string(m.name));
                  }(),
                  ...);
            },
            b.members);
      }
    }
  }
};

}  // namespace pkl

// ---- the macros ------------------------------------------------------------------

#define PKL_DETAIL_MEMBER(T, m) , ::pkl::member(#m, &T::m)
#define PKL_DETAIL_EXPAND(...) __VA_ARGS__
#define PKL_DETAIL_FE_0(T, ...)
#define PKL_DETAIL_FE_1(T, a) PKL_DETAIL_MEMBER(T, a)
#define PKL_DETAIL_FE_2(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_1(T, __VA_ARGS__)
#define PKL_DETAIL_FE_3(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_2(T, __VA_ARGS__)
#define PKL_DETAIL_FE_4(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_3(T, __VA_ARGS__)
#define PKL_DETAIL_FE_5(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_4(T, __VA_ARGS__)
#define PKL_DETAIL_FE_6(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_5(T, __VA_ARGS__)
#define PKL_DETAIL_FE_7(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_6(T, __VA_ARGS__)
#define PKL_DETAIL_FE_8(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_7(T, __VA_ARGS__)
#define PKL_DETAIL_FE_9(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_8(T, __VA_ARGS__)
#define PKL_DETAIL_FE_10(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_9(T, __VA_ARGS__)
#define PKL_DETAIL_FE_11(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_10(T, __VA_ARGS__)
#define PKL_DETAIL_FE_12(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_11(T, __VA_ARGS__)
#define PKL_DETAIL_FE_13(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_12(T, __VA_ARGS__)
#define PKL_DETAIL_FE_14(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_13(T, __VA_ARGS__)
#define PKL_DETAIL_FE_15(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_14(T, __VA_ARGS__)
#define PKL_DETAIL_FE_16(T, a, ...) PKL_DETAIL_MEMBER(T, a) PKL_DETAIL_FE_15(T, __VA_ARGS__)
#define PKL_DETAIL_PICK(_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, N, ...) N
#define PKL_DETAIL_COUNT(...)                                                                                     \
  PKL_DETAIL_PICK(_ __VA_OPT__(, ) __VA_ARGS__, PKL_DETAIL_FE_16, PKL_DETAIL_FE_15, PKL_DETAIL_FE_14,             \
                  PKL_DETAIL_FE_13, PKL_DETAIL_FE_12, PKL_DETAIL_FE_11, PKL_DETAIL_FE_10, PKL_DETAIL_FE_9,        \
                  PKL_DETAIL_FE_8, PKL_DETAIL_FE_7, PKL_DETAIL_FE_6, PKL_DETAIL_FE_5, PKL_DETAIL_FE_4,            \
                  PKL_DETAIL_FE_3, PKL_DETAIL_FE_2, PKL_DETAIL_FE_1, PKL_DETAIL_FE_0)
#define PKL_DETAIL_MEMBERS(T, ...) PKL_DETAIL_EXPAND(PKL_DETAIL_COUNT(__VA_ARGS__)(T __VA_OPT__(, ) __VA_ARGS__))

// Binds T (at namespace scope, in T's namespace) to the Python class
// module.qualname with the listed members (up to 16) as its attributes.
#define PKL_CLASS(T, module, qualname, ...)                                                      \
  [[maybe_unused]] inline auto pkl_class(const T*) {                                             \
    return ::pkl::class_binding<T>(module, qualname PKL_DETAIL_MEMBERS(T, __VA_ARGS__));         \
  }
// The same inside T's body (members may be private).
#define PKL_CLASS_INTRUSIVE(T, module, qualname, ...)                                            \
  friend auto pkl_class(const T*) {                                                              \
    return ::pkl::class_binding<T>(module, qualname PKL_DETAIL_MEMBERS(T, __VA_ARGS__));         \
  }
