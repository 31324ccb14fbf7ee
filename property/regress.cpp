// Replays every corpus/regressions/property-*.txt (or those in
// $PICKLECODEC_REGRESSIONS): the property, protocol
// and graph(s) it names, through the same check that failed. An entry whose
// `status:` is `open` (a codec bug not yet fixed) is registered DISABLED_;
// set it to `fixed` once the bug is gone and the replay guards it.
#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "harness.hpp"
#include "ochecks.hpp"

using namespace pklprop;

namespace {

struct Entry {
  std::string name;  // file stem
  std::string path;  // .txt
  std::string property;
  int protocol = 0;
  std::string status;
  std::vector<std::string> graphs;
  std::string pickle;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Entry parse(const std::string& dir, const std::string& stem) {
  Entry e;
  e.name = stem;
  e.path = dir + "/" + stem + ".txt";
  std::istringstream in(read_file(e.path));
  std::string line;
  while (std::getline(in, line)) {
    if (line == "show:" || line == "message:") break;
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "property") e.property = value;
    else if (key == "protocol") e.protocol = std::stoi(value);
    else if (key == "status") e.status = value;
    else if (key == "graph") e.graphs.push_back(value);
  }
  e.pickle = read_file(dir + "/" + stem + ".pickle");
  return e;
}

std::vector<Entry> entries() {
  std::vector<Entry> out;
  const std::string dir = regressions_dir();
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* ent = ::readdir(d)) {
      std::string n = ent->d_name;
      if (n.rfind("property-", 0) == 0 && n.size() > 4 && n.substr(n.size() - 4) == ".txt")
        out.push_back(parse(dir, n.substr(0, n.size() - 4)));
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

std::string replay(const Entry& e) {
  std::vector<Subject> ss;
  for (const std::string& g : e.graphs) ss.push_back(make_subject(gdoc_from_json(json_parse(g))));
  const int q = e.protocol;
  if (e.property == "roundtrip") return check_roundtrip(ss.at(0), q);
  if (e.property == "cpython-bytes") return check_cpython_bytes(ss.at(0), q, run_against_cpython(ss.at(0)), nullptr);
  if (e.property == "cpython-decode") {
    if (ss.at(0).facts.deep) return check_cpython_decode(ss.at(0), q, nullptr, nullptr);
    const CPythonRun run = run_against_cpython(ss.at(0));
    if (static_cast<size_t>(q) >= run.cpython.dumps.size()) return "CPython cannot answer: " + run.outcome.divergence;
    return check_cpython_decode(ss.at(0), q, &run.cpython.dumps[static_cast<size_t>(q)], nullptr);
  }
  if (e.property == "setstate") return check_setstate(ss.at(0), q, nullptr);
  if (e.property == "stream") return check_stream(ss, q);
  if (e.property == "truncated") return check_prefixes(e.pickle, SIZE_MAX);
  if (e.property == "mutated") return check_mutant(e.pickle);
  return "unknown property '" + e.property + "'";
}

void PrintTo(const Entry& e, std::ostream* os) { *os << e.name; }

class PropertyRegression : public testing::TestWithParam<Entry> {};

TEST_P(PropertyRegression, Replays) {
  const Entry& e = GetParam();
  std::string msg = replay(e);
  EXPECT_EQ(msg, "") << e.path;
}

std::string test_name(const testing::TestParamInfo<Entry>& info) {
  std::string n;
  for (char c : info.param.name) n += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return (info.param.status == "open" ? "DISABLED_" : "") + n;
}

}  // namespace

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PropertyRegression);
INSTANTIATE_TEST_SUITE_P(Corpus, PropertyRegression, testing::ValuesIn(entries()), test_name);

// Every regression file names a known property and parses.
TEST(PropertyRegressionFiles, Parse) {
  for (const Entry& e : entries()) {
    EXPECT_FALSE(e.property.empty()) << e.path;
    EXPECT_TRUE(e.status == "open" || e.status == "fixed") << e.path << ": status must be open or fixed";
    EXPECT_FALSE(e.graphs.empty() && e.property != "truncated" && e.property != "mutated") << e.path;
    for (const std::string& g : e.graphs) EXPECT_NO_THROW(gdoc_from_json(json_parse(g))) << e.path;
  }
}
