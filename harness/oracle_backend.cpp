#include "oracle_backend.hpp"

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

}  // namespace

Answer OracleServer::run(const Case& c) {
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

std::optional<std::string> OracleServer::python_only_divergence(const Case& c, const std::string& subject,
                                                                const std::string& mine) {
  if (c.graph) return std::nullopt;  // the python-only rules read an input
  std::string req = "{\"op\": \"classify\", \"data\": \"" + base64_encode(c.input) + "\", \"codec\": ";
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
