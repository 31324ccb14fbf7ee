// Globals (CONFORMANCE.md §2): Python 2 names through fix_imports below
// protocol 3 (CPython's find_class, Modules/_pickle.c), then one of the
// builtins pickle spells with a global, a registered class, or an inert
// global; the allowlist policy refuses the rest in CPython's words.
#include "compat_tables.inc"
#include "decode_machine.hpp"
#include "decode_text.hpp"
#include "picklecodec/repr.hpp"

namespace pkl::detail {

namespace {

Special special_of(std::string_view module, std::string_view name) {
  if (module == "builtins") {
    if (name == "set") return Special::Set;
    if (name == "frozenset") return Special::FrozenSet;
    if (name == "bytearray") return Special::ByteArray;
    if (name == "bytes") return Special::Bytes;
    if (name == "getattr") return Special::Getattr;
    if (name == "object") return Special::Object;
  } else if (module == "_codecs" && name == "encode") {
    return Special::CodecsEncode;
  } else if (module == "copyreg" && name == "_reconstructor") {
    return Special::Reconstructor;
  }
  return Special::None;
}

}  // namespace

NodeId Machine::find_class(std::string_view module, std::string_view name) {
  if (proto_ < 3 && opt_.fix_imports) {
    if (const auto* e = compat::find_name(compat::kNameMapping, module, name)) {
      return resolve(e->to_module, e->to_name);
    }
    if (const auto* e = compat::find_import(compat::kImportMapping, module)) {
      return resolve(e->to, name);
    }
  }
  return resolve(module, name);
}

NodeId Machine::resolve(std::string_view module, std::string_view name) {
  NodeId n = g_.global(module, name);
  const GlobalInfo& gi = info(n);
  if (opt_.policy == GlobalPolicy::AllowlistOnly && gi.special == Special::None && gi.class_index < 0) {
    fail(ErrorCode::NotAllowed, "Can't get attribute " + repr_str(name) + " on <module " + repr_str(module) + ">");
  }
  return n;
}

const GlobalInfo& Machine::info(NodeId global) {
  InfoCache& c = info_cache_[global & 7];
  if (c.node == global) return c.info;
  auto it = globals_.find(global);
  if (it != globals_.end()) {
    c.node = global;
    c.info = it->second;
    return it->second;
  }
  const GlobalData& d = g_.global_data(global);
  GlobalInfo gi;
  if (opt_.registry) gi.class_index = opt_.registry->find(d.module, d.qualname);
  if (gi.class_index < 0) gi.special = special_of(d.module, d.qualname);
  return globals_.emplace(global, gi).first->second;
}

}  // namespace pkl::detail
