#include "compare.hpp"

#include <any>

#include "equivalence.hpp"
#include "gdoc.hpp"

namespace pklprop {

using pkl::Graph;
using pkl::Kind;
using pkl::kNoNode;
using pkl::NodeId;
using pklharness::Matching;
using namespace pklharness;  // GDoc, Rec, the shapes (harness/gdoc.hpp)

namespace {

// Registered instances (the shapes of gdoc.hpp, each holding the Rec it was
// built from) compared by what decoding them must do; everything else is the
// harness's one equivalence (harness/equivalence.hpp).
class InstancesByRec : public pklharness::InstanceRule {
 public:
  explicit InstancesByRec(const CmpOptions& o) : o_(&o) {}
  bool same(Matching& m, NodeId x, NodeId y) const override;
  uint64_t fingerprint(const Matching& m, const Graph& g, NodeId n, int depth) const override;

 private:
  const CmpOptions* o_;
};

bool InstancesByRec::same(Matching& m, NodeId x, NodeId y) const {
  const Graph& a_ = m.a();
  const Graph& b_ = m.b();
  auto brief = [](const Graph& g, NodeId n) { return Matching::brief(g, n); };
  auto empty_tuple = [](const Graph& g, NodeId n) { return n != kNoNode && g.kind(n) == Kind::Tuple && g.length(n) == 0; };
  const pkl::ObjectData& oa = a_.object_data(x);
  const int shape = oa.class_index;
  const Rec& ra = *std::any_cast<Rec>(&oa.native);
  const bool b_obj = b_.kind(y) == Kind::Object;
  const pkl::ObjectData* ob = b_obj ? &b_.object_data(y) : nullptr;
  const std::string cls = std::string("pcprop.") + shape_info(shape).qualname;
  if (o_->instances_by_class) {
    if (!ob || ob->class_index != shape) return m.fail("expected an instance of " + cls + ", got " + brief(b_, y));
    return true;
  }
  if (shape == kR) {
    if (!ob || ob->class_index >= 0) return m.fail("expected the inert object " + cls + "'s __reduce__ makes, got " + brief(b_, y));
    const bool has_state = ra.r_state != kNoNode && a_.kind(ra.r_state) != Kind::None;
    if (!m.link(ra.r_callable, ob->callable, ".callable") || !m.link(ra.r_args, ob->args, ".args"))
      return false;
    if (!m.link(has_state ? ra.r_state : kNoNode, ob->state, ".state")) return false;
    return m.link_all(ra.r_list, ob->listitems, "listitems") && m.link_pairs(ra.r_dict, ob->dictitems, "dictitems");
  }
  const bool state_present = ra.state != kNoNode && a_.kind(ra.state) != Kind::None;
  const bool kwargs = shape == kSX && ra.nx_kwargs != kNoNode && a_.length(ra.nx_kwargs) > 0;
  if (kwargs && o_->protocol >= 2 && o_->protocol < 4) {
    // functools.partial(cls.__new__, cls, *args, **kwargs)(): an inert call.
    if (!ob || ob->class_index >= 0 || ob->callable == kNoNode || b_.kind(ob->callable) != Kind::Object)
      return m.fail("expected the inert functools.partial call of " + cls + ", got " + brief(b_, y));
    return m.link(state_present ? ra.state : kNoNode, ob->state, ".state");
  }
  if (!ob || ob->class_index != shape) return m.fail("expected an instance of " + cls + ", got " + brief(b_, y));
  const Rec& rb = *std::any_cast<Rec>(&ob->native);
  // __new__'s arguments.
  NodeId want_args = kNoNode;
  if (o_->protocol >= 2) want_args = shape == kSN ? ra.newargs : shape == kSX ? ra.nx_args : kNoNode;
  if (want_args == kNoNode || a_.length(want_args) == 0) {
    if (!empty_tuple(b_, rb.cargs)) return m.fail(cls + " created with arguments " + (rb.cargs == kNoNode ? std::string("none") : brief(b_, rb.cargs)) + ", expected ()");
  } else if (!m.link(want_args, rb.cargs, ".__new__args")) {
    return false;
  }
  if (kwargs && o_->protocol >= 4) {
    if (!m.link(ra.nx_kwargs, rb.ckwargs, ".__new__kwargs")) return false;
  } else if (rb.ckwargs != kNoNode && b_.length(rb.ckwargs) != 0) {
    return m.fail(cls + " created with keyword arguments, expected none");
  }
  // BUILD.
  if (shape == kA) {
    if (rb.set_attrs.size() != ra.attrs.size())
      return m.fail(cls + ": " + std::to_string(rb.set_attrs.size()) + " set_attr calls, expected " + std::to_string(ra.attrs.size()));
    for (size_t i = 0; i < ra.attrs.size(); ++i) {
      if (rb.set_attrs[i].first != ra.attrs[i].first) return m.fail(cls + ": set_attr name " + rb.set_attrs[i].first + ", expected " + ra.attrs[i].first);
      if (!m.link(ra.attrs[i].second, rb.set_attrs[i].second, "." + ra.attrs[i].first)) return false;
    }
    return true;
  }
  const bool build = state_present && (o_->protocol >= 2 || a_.truthy(ra.state));
  if (shape_info(shape).setstate) {
    const size_t want = build ? 1 : 0;
    if (rb.calls.size() != want)
      return m.fail(cls + ": set_state ran " + std::to_string(rb.calls.size()) + " times, expected " + std::to_string(want) +
                         (state_present ? " (state " + brief(a_, ra.state) + ")" : " (no state)"));
    return !build || m.link(ra.state, rb.calls[0], ".__setstate__(arg)");
  }
  // kG: the default __setstate__ sets attributes from the dict and the slots dict.
  std::vector<std::pair<std::string, NodeId>> want;
  if (build) {
    NodeId dpart = ra.state, spart = kNoNode;
    if (a_.kind(ra.state) == Kind::Tuple && a_.length(ra.state) == 2) {
      dpart = a_.items(ra.state)[0];
      spart = a_.items(ra.state)[1];
    }
    for (NodeId part : {dpart, spart})
      if (part != kNoNode && a_.kind(part) == Kind::Dict)
        for (const pkl::Pair& p : a_.dict_items(part)) want.emplace_back(std::string(a_.as_str(p.first)), p.second);
  }
  if (rb.set_attrs.size() != want.size())
    return m.fail(cls + ": " + std::to_string(rb.set_attrs.size()) + " set_attr calls, expected " + std::to_string(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    if (rb.set_attrs[i].first != want[i].first) return m.fail(cls + ": set_attr name " + rb.set_attrs[i].first + ", expected " + want[i].first);
    if (!m.link(want[i].second, rb.set_attrs[i].second, "." + want[i].first)) return false;
  }
  return true;
}

uint64_t InstancesByRec::fingerprint(const Matching& m, const Graph& g, NodeId n, int depth) const {
  const auto& od = g.object_data(n);
  const uint64_t h = Matching::mix(0, static_cast<uint64_t>(Kind::Object));
  if (od.class_index == kR) {
    // Shape R decodes to the inert object its __reduce__ describes.
    const Rec* r = std::any_cast<Rec>(&od.native);
    if (r && !r->decoded) {
      uint64_t acc = Matching::mix(h, 0);
      if (depth > 0) {
        acc = Matching::mix(acc, m.fingerprint(g, r->r_callable, depth - 1));
        acc = Matching::mix(acc, m.fingerprint(g, r->r_args, depth - 1));
      }
      return acc;
    }
  }
  if (od.class_index == kSX && (o_->protocol == 2 || o_->protocol == 3)) {
    // An SX with keyword arguments is written, and read back, as the
    // inert functools.partial call (same()): fingerprint it so.
    const Rec* r = std::any_cast<Rec>(&od.native);
    if (r && r->nx_kwargs != kNoNode && g.length(r->nx_kwargs) > 0) return Matching::mix(Matching::mix(h, 0), 0x5eed);
  }
  return Matching::mix(h, static_cast<uint64_t>(od.class_index + 1));  // by class: its callable is how it was made
}

}  // namespace

CmpEquivalence::CmpEquivalence(const CmpOptions& options)
    : options_(options), rule_(std::make_unique<InstancesByRec>(options_)) {
  pklharness::Equivalence& eq = eq_;
  eq.atoms_by_value = true;
  // A None state writes no BUILD: it reads back as no state.
  eq.none_state_is_no_state = true;
  // Below protocol 2 an instance made by cls.__new__(cls) alone is written
  // as copyreg._reconstructor(cls, object, None), its state only when true.
  eq.plain_false_state_is_no_state = options.protocol < 2;
  eq.sets_unordered = options.unordered_sets;
  eq.nan_any = options.nan_any;
  eq.newobj_ex_as_partial = options.protocol == 2 || options.protocol == 3;
  eq.instances = rule_.get();
}

CmpEquivalence::~CmpEquivalence() = default;

std::string compare(const Graph& a, NodeId ra, const Graph& b, NodeId rb, const CmpOptions& options) {
  const CmpEquivalence eq(options);
  return pklharness::difference(a, ra, b, rb, eq.get());
}

}  // namespace pklprop
