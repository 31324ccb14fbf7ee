// The encoder against CPython: every case of tests/fixtures/encode_cases.txt
// (made by tests/fixtures/gen_encode_fixtures.py with the machine's python3)
// is built with the Graph API and encoded at protocols 0-5; the bytes must be
// exactly CPython's, and where CPython refuses, the message must be its own.
#include <gtest/gtest.h>

#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"
#include "test_encode_util.hpp"

namespace {

using enctest::FixtureCase;

const std::vector<FixtureCase>& all_cases() {
  static const std::vector<FixtureCase> cases =
      enctest::load_fixture_cases(std::string(PICKLECODEC_SOURCE_DIR) + "/tests/fixtures/encode_cases.txt");
  return cases;
}

struct Param {
  size_t index;
  int protocol;
};

std::vector<Param> all_params() {
  std::vector<Param> v;
  for (size_t i = 0; i < all_cases().size(); ++i)
    for (int p = 0; p <= 5; ++p) v.push_back({i, p});
  return v;
}

class EncodeFixture : public ::testing::TestWithParam<Param> {};

TEST_P(EncodeFixture, MatchesCPython) {
  const FixtureCase& c = all_cases()[GetParam().index];
  const int p = GetParam().protocol;
  const enctest::Expect& e = c.expect[p];
  auto built = enctest::build_case(c);
  std::string out;
  std::string error;
  try {
    out = pkl::encode(built->graph, built->root, built->options(p));
  } catch (const pkl::Error& err) {
    error = err.message();
  }
  if (!e.ok) {
    EXPECT_EQ(error, e.error) << "CPython refuses this graph at protocol " << p;
    EXPECT_TRUE(out.empty());
    return;
  }
  ASSERT_EQ(error, "") << "CPython writes " << e.length << " bytes";
  if (e.have_bytes) {
    EXPECT_EQ(enctest::show(out), enctest::show(e.bytes));
  } else {
    EXPECT_EQ(out.size(), e.length);
    EXPECT_EQ(enctest::fnv1a64(out), e.fnv) << "first bytes: " << enctest::show(out.substr(0, 200));
  }
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return all_cases()[info.param.index].name + "_p" + std::to_string(info.param.protocol);
}

INSTANTIATE_TEST_SUITE_P(CPython, EncodeFixture, ::testing::ValuesIn(all_params()), param_name);

TEST(EncodeFixtures, FileHasCases) { EXPECT_GE(all_cases().size(), 60u); }

}  // namespace
