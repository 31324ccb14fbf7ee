#include "oracle_backend.hpp"

#include "gdoc.hpp"
#include "json.hpp"

namespace pklharness {

namespace {

std::string error_text(const JVal& e) { return e.at("type").s + ": " + e.at("message").s; }

// {"<q>": {"ok", "data"} | {"ok": false, "error"}} -> the dumps, by protocol.
void read_dumps(const JVal& dumps, Answer& a) {
  for (int p = 0; p < kProtocols; ++p) {
    Answer::Dump d;
    if (const JVal* x = dumps.find(std::to_string(p))) {
      if (x->at("ok").truthy()) d.bytes.emplace(base64_decode(x->at("data").s));
      else d.error = error_text(x->at("error"));
    } else {
      d.error = "the oracle gave no dump at protocol " + std::to_string(p);
    }
    a.dumps.push_back(std::move(d));
  }
}

// [graph of each __setstate__ argument] -> the answer's calls.
void read_calls(const JVal& calls, Answer& a) {
  for (const JVal& call : calls.arr) {
    a.call_graphs.push_back(to_graph(gdoc_from_json(call)));
    a.calls.push_back(a.call_graphs.back().root());
  }
}

}  // namespace

Answer OracleServer::run(const Case& c) {
  if (c.load) return load(c);
  JVal r;
  if (c.graph) {
    r = server_.request("{\"op\": \"build_dump\", \"protocols\": [0, 1, 2, 3, 4, 5], \"graph\": " +
                        std::string(c.graph->json) + "}");
  } else {
    r = server_.request("{\"op\": \"redump\", \"protocols\": [0, 1, 2, 3, 4, 5], \"persistent\": false, \"data\": \"" +
                        base64_encode(c.input) + "\"}");
  }
  if (!r.at("ok").truthy()) return Answer::cannot("oracle error: " + error_text(r.at("error")));
  Answer a;
  if (c.graph) {
    a.kind = Answer::Kind::Accept;
    read_dumps(r.at("dumps"), a);
    return a;
  }
  const JVal& pickles = r.at("pickles");
  if (pickles.arr.empty()) return Answer::cannot("the oracle read no pickle");
  const JVal& first = pickles[0];  // the first pickle of the input, as pickle.loads reads it
  if (!first.at("accepted").truthy()) {
    a.kind = Answer::Kind::Reject;
    a.text = error_text(first.at("error"));
    return a;
  }
  a.kind = Answer::Kind::Accept;
  read_dumps(first.at("dumps"), a);
  return a;
}

// op load_graph (the inert load's graph), or with hooks op load_hooks (the
// __setstate__ calls' arguments, each a graph).
Answer OracleServer::load(const Case& c) {
  const GraphCase* hooks = c.load->hooks;
  if (c.graph) return round_trip(c);
  const std::string data = base64_encode(c.input);
  const JVal r = hooks ? server_.request("{\"op\": \"load_hooks\", \"data\": \"" + data + "\", \"graph\": " +
                                         std::string(hooks->json) + "}")
                       : server_.request("{\"op\": \"load_graph\", \"data\": \"" + data + "\"}");
  if (!r.at("ok").truthy()) return Answer::cannot("oracle error: " + error_text(r.at("error")));
  const JVal* first = &r;  // load_hooks answers for the first pickle
  if (!hooks) {
    if (r.at("pickles").arr.empty()) return Answer::cannot("the oracle read no pickle");
    first = &r.at("pickles")[0];
  }
  Answer a;
  if (!first->at("accepted").truthy()) {
    a.kind = Answer::Kind::Reject;
    a.text = error_text(first->at("error"));
    return a;
  }
  a.kind = Answer::Kind::Accept;
  if (!hooks) {
    a.graph.emplace(to_graph(gdoc_from_json(first->at("graph"))));
    return a;
  }
  read_calls(first->at("calls"), a);
  return a;
}

// op setstate_calls: the builder's graph dumped at c.protocol, loaded with
// its hook classes. A request the server refuses (the dump raised, or the
// builder could not make the graph) is a refused dump.
Answer OracleServer::round_trip(const Case& c) {
  const JVal r = server_.request("{\"op\": \"setstate_calls\", \"protocol\": " + std::to_string(c.protocol) +
                                 ", \"graph\": " + std::string(c.graph->json) + "}");
  Answer a;
  a.kind = Answer::Kind::Reject;
  Answer::Dump d;
  if (!r.at("ok").truthy()) {
    d.error = error_text(r.at("error"));
    a.text = d.error;
    a.dumps.push_back(std::move(d));
    return a;
  }
  d.bytes.emplace(base64_decode(r.at("data").s));
  a.dumps.push_back(std::move(d));
  if (!r.at("accepted").truthy()) {
    a.text = error_text(r.at("error"));
    return a;
  }
  a.kind = Answer::Kind::Accept;
  read_calls(r.at("calls"), a);
  return a;
}

std::optional<std::string> OracleServer::python_only_divergence(const Case& c, const std::string& subject,
                                                                const std::string& mine) {
  // A graph case loads nothing: it is classified as the empty input, so the
  // rules about a load (an unevaluated codec, frames) cannot hold and those
  // about a dump (empty-component-module: the codec's refusal) can
  // (docs/harness.md, "Graph cases and the python-only rows").
  const std::string_view input = c.graph && !c.load ? std::string_view() : c.input;
  std::string req = "{\"op\": \"classify\", \"data\": \"" + base64_encode(input) + "\", \"codec\": ";
  json_quote(req, subject);
  req += ", \"cpython\": ";
  json_quote(req, mine);
  req += "}";
  const JVal r = server_.request(req);
  if (!r.at("ok").truthy()) return std::nullopt;
  const JVal* d = r.find("divergence");
  if (!d || d->is_null()) return std::nullopt;
  return d->s;
}

}  // namespace pklharness
