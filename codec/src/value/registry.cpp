// pkl::ClassRegistry: (module, qualname) -> registered class hooks.
#include "picklecodec/registry.hpp"
#include "base/foreign.hpp"

#include <new>
#include <stdexcept>

namespace pkl {

namespace {

// The module's length first: a separator character would let ("a\nb", "c")
// and ("a", "b\nc") meet, and STACK_GLOBAL names may hold any character.
std::string registry_key(std::string_view module, std::string_view qualname) {
  std::string key = std::to_string(module.size());
  key.reserve(key.size() + 1 + module.size() + qualname.size());
  key += ':';
  key += module;
  key += qualname;
  return key;
}

}  // namespace

int ClassRegistry::add(ClassHooks hooks) {
  try {
    std::string key = registry_key(hooks.module, hooks.qualname);
    auto it = index_.find(key);
    if (it != index_.end()) {
      classes_[static_cast<size_t>(it->second)] = std::move(hooks);
      return it->second;
    }
    if (classes_.size() >= 0x7fffffff) throw Error(ErrorCode::ResourceLimit, "too many classes");
    const int index = static_cast<int>(classes_.size());
    classes_.push_back(std::move(hooks));
    try {
      index_.emplace(std::move(key), index);
    } catch (...) {
      classes_.pop_back();
      throw;
    }
    return index;
  } catch (...) {
    detail::rethrow_as_error();
  }
}

const ClassHooks& ClassRegistry::at(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= classes_.size())
    throw Error(ErrorCode::Usage, "no registered class at index " + std::to_string(index));
  return classes_[static_cast<size_t>(index)];
}

int ClassRegistry::find(std::string_view module, std::string_view qualname) const {
  try {
    auto it = index_.find(registry_key(module, qualname));
    return it == index_.end() ? -1 : it->second;
  } catch (...) {
    detail::rethrow_as_error();
  }
}

}  // namespace pkl
