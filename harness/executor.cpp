#include "executor.hpp"

#include "divergences.hpp"
#include "equivalence.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"

namespace pklharness {

std::string hex(std::string_view data, size_t limit) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  const size_t n = data.size() < limit ? data.size() : limit;
  out.reserve(2 * n + 32);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  if (n < data.size()) out += "... (" + std::to_string(data.size()) + " bytes)";
  return out;
}

std::string describe(const Answer::Dump& d) {
  if (!d.ok()) return d.error;
  return "ok (" + std::to_string(d.bytes->size()) + " bytes): " + hex(*d.bytes);
}

namespace {

// The exception type of a refusal: "ResourceLimit" of the codec's
// "error ResourceLimit: ...", "PicklingError" of CPython's "PicklingError: ...".
std::string kind_of(const std::string& text) {
  std::string_view t = text;
  if (t.starts_with("error ")) t.remove_prefix(6);
  return std::string(t.substr(0, t.find(':')));
}

bool has_multi_member_set(const pkl::Graph& g) {
  for (pkl::NodeId n = 0; n < g.size(); ++n)
    if ((g.kind(n) == pkl::Kind::Set || g.kind(n) == pkl::Kind::FrozenSet) && g.length(n) > 1) return true;
  return false;
}

}  // namespace

Outcome Executor::differ(const Case& c, bool subject_refuses, std::string what, std::string subject,
                         std::string reference) {
  Outcome o;
  o.what = std::move(what);
  o.subject_answer = std::move(subject);
  o.reference_answer = std::move(reference);
  // The table, in C++: the exact input, then a refusal of the codec's the
  // table allows when the reference accepts; then the python-only rows.
  const Divergence* d = exact_input(c.input);
  if (!d && subject_refuses) d = codec_refusal(o.subject_answer);
  if (d) {
    o.status = Outcome::Status::Allowed;
    o.divergence = std::string(d->id);
  } else if (auto id = has_python_only_rows()
                           ? reference_.python_only_divergence(c, o.subject_answer, o.reference_answer)
                           : std::nullopt) {
    o.status = Outcome::Status::Allowed;
    o.divergence = *id;
  } else {
    o.status = Outcome::Status::Different;
  }
  return o;
}

// The subject's recode and the reference's differ only in the order of set
// items: the reference's verdict when it gives one; else the reference's
// bytes decoded by the codec must re-encode to exactly those bytes and be
// the subject's graph up to set member order.
bool Executor::only_set_order(const std::string& subject, const std::string& reference, int protocol) {
  if (auto verdict = reference_.same_up_to_set_order(protocol, reference, subject)) return *verdict;
  pkl::DecodeOptions roomy;
  roomy.limits.max_total_bytes = uint64_t{1} << 30;
  try {
    const pkl::Graph gs = pkl::decode(subject, roomy), gr = pkl::decode(reference, roomy);
    if (!has_multi_member_set(gr)) return false;
    // The reference's set order, the codec's encoder.
    return pkl::encode(gr, gr.root(), {.protocol = protocol}) == reference &&
           equivalent(gs, gs.root(), gr, gr.root(), Equivalence::any_set_order());
  } catch (const pkl::Error&) {
    return false;
  }
}

// A load case both accepted: the graphs (a = the reference's, b = the
// subject's) under the case's equivalence; with hooks, the set_state calls
// instead: as many, and each argument the same.
Outcome Executor::compare_loads(const Case& c) {
  static const Equivalence kStrict = Equivalence::strict();
  const Equivalence& eq = c.load->equivalence ? *c.load->equivalence : kStrict;
  const std::string sname(subject_.name()), rname(reference_.name());
  if (!c.load->hooks) {
    std::string diff = difference(*ref_.graph, ref_.graph->root(), *sub_.graph, sub_.graph->root(), eq);
    if (diff.empty()) return Outcome();
    return differ(c, false, "the loaded graphs differ: " + diff,
                  "graph of " + std::to_string(sub_.graph->size()) + " nodes",
                  "graph of " + std::to_string(ref_.graph->size()) + " nodes");
  }
  if (sub_.calls.size() != ref_.calls.size())
    return differ(c, false, "set_state ran " + std::to_string(sub_.calls.size()) + " times (" + sname + "), " +
                                std::to_string(ref_.calls.size()) + " times (" + rname + ")",
                  std::to_string(sub_.calls.size()) + " calls", std::to_string(ref_.calls.size()) + " calls");
  for (size_t i = 0; !c.load->count_calls_only && i < sub_.calls.size(); ++i) {
    std::string diff = difference(ref_.call_graph(i), ref_.calls[i], sub_.call_graph(i), sub_.calls[i], eq);
    if (!diff.empty())
      return differ(c, false, "set_state call " + std::to_string(i) + " has another argument: " + diff,
                    Matching::brief(sub_.call_graph(i), sub_.calls[i]),
                    Matching::brief(ref_.call_graph(i), ref_.calls[i]));
  }
  return Outcome();
}

Outcome Executor::run(const Case& c) {
  sub_ = Answer();
  ref_ = Answer();
  if (const Divergence* d = cannot_answer_input(c.input)) {
    Outcome o;
    o.status = Outcome::Status::CannotAnswer;
    o.divergence = std::string(d->id);
    return o;
  }
  ref_ = reference_.run(c);
  const Answer& ref = ref_;
  if (ref.kind == Answer::Kind::CannotAnswer) {
    Outcome o;
    o.status = Outcome::Status::CannotAnswer;
    o.divergence = ref.text;
    return o;
  }
  if (ref.kind == Answer::Kind::Reject) {
    if (const Divergence* d = cannot_answer_exception(ref.text)) {
      Outcome o;
      o.status = Outcome::Status::CannotAnswer;
      o.divergence = std::string(d->id) + ": " + ref.text;
      return o;
    }
  }
  sub_ = subject_.run(c);
  const Answer& sub = sub_;
  const std::string rname(reference_.name()), sname(subject_.name());
  if (c.graph && c.load) {  // a round trip: whether each writes the graph first
    const bool sd = !sub.dumps.empty() && sub.dumps[0].ok(), rd = !ref.dumps.empty() && ref.dumps[0].ok();
    if (sd != rd) {
      Outcome o = differ(c, !sd,
                         "the dump at protocol " + std::to_string(c.protocol) + " differs (" + sname + " " +
                             (sd ? std::string("ok") : kind_of(sub.text)) + ", " + rname + " " +
                             (rd ? std::string("ok") : kind_of(ref.text)) + ")",
                         sd ? describe(sub.dumps[0]) : sub.text, rd ? describe(ref.dumps[0]) : ref.text);
      o.protocol = c.protocol;
      return o;
    }
    if (!sd) return Outcome();
  }
  if (sub.accepted() != ref.accepted()) {
    return differ(c, !sub.accepted(),
                  "accept/reject differs (" + sname + " " + (sub.accepted() ? "ok" : kind_of(sub.text)) + ", " +
                      rname + " " + (ref.accepted() ? "ok" : kind_of(ref.text)) + ")",
                  sub.accepted() ? "ok (graph of " + std::to_string(sub.graph ? sub.graph->size() : 0) + " nodes)"
                                 : sub.text,
                  ref.accepted() ? "accepted" : "rejected: " + ref.text);
  }
  Outcome same;
  if (!sub.accepted()) return same;
  if (c.load) return compare_loads(c);
  for (int p = 0; p < kProtocols && p < static_cast<int>(sub.dumps.size()) &&
                  p < static_cast<int>(ref.dumps.size());
       ++p) {
    const Answer::Dump& mine = sub.dumps[static_cast<size_t>(p)];
    const Answer::Dump& theirs = ref.dumps[static_cast<size_t>(p)];
    const std::string what = "recode at protocol " + std::to_string(p) + " differs (" + sname + " " +
                             (mine.ok() ? std::string("ok") : kind_of(mine.error)) + ", " + rname + " " +
                             (theirs.ok() ? std::string("ok") : kind_of(theirs.error)) + ")";
    if (mine.ok() != theirs.ok()) {
      Outcome o = differ(c, !mine.ok(), what, describe(mine), describe(theirs));
      o.protocol = p;
      if (o.status == Outcome::Status::Different) return o;
    } else if (mine.ok() && *mine.bytes != *theirs.bytes) {
      if (only_set_order(*mine.bytes, *theirs.bytes, p)) {
        ++same.set_order;
        continue;
      }
      Outcome o = differ(c, false, what, describe(mine), describe(theirs));
      o.protocol = p;
      if (o.status == Outcome::Status::Different) return o;
    }
  }
  return same;
}

}  // namespace pklharness
