// rethrow_as_error: the one mapping from foreign exceptions to pkl::Error.
#include <gtest/gtest.h>

#include <ios>
#include <new>
#include <stdexcept>
#include <vector>

#include "base/foreign.hpp"

namespace {

using pkl::Error;
using pkl::ErrorCode;

template <class F>
Error mapped(F&& f, std::string_view what = {}, int64_t offset = Error::kNoOffset, int opcode = Error::kNoOpcode) {
  try {
    pkl::detail::as_error(std::forward<F>(f), what, offset, opcode);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "nothing was thrown";
  return Error(ErrorCode::Usage, "");
}

TEST(ForeignExceptions, OutOfMemoryIsResourceLimit) {
  const Error a = mapped([] { throw std::bad_alloc(); }, {}, 12, 0x8c);
  EXPECT_EQ(a.code(), ErrorCode::ResourceLimit);
  EXPECT_EQ(a.message(), "out of memory");
  EXPECT_EQ(a.offset(), 12);
  EXPECT_EQ(a.opcode(), 0x8c);
  const Error b = mapped([] { std::vector<int> v; v.reserve(v.max_size() + 1); });
  EXPECT_EQ(b.code(), ErrorCode::ResourceLimit);
  EXPECT_EQ(b.message(), "out of memory");
}

TEST(ForeignExceptions, UserCodeIsUsageNamingIt) {
  const Error a = mapped([] { throw std::runtime_error("boom"); }, "persistent_load");
  EXPECT_EQ(a.code(), ErrorCode::Usage);
  EXPECT_EQ(a.message(), "persistent_load failed: boom");
  const Error b = mapped([] { throw std::runtime_error("boom"); });
  EXPECT_EQ(b.message(), "boom");
  const Error c = mapped([] { throw 7; }, "a hook");
  EXPECT_EQ(c.message(), "a hook failed");
  const Error d = mapped([] { throw 7; });
  EXPECT_EQ(d.message(), "an exception that is not a std::exception");
}

TEST(ForeignExceptions, StreamFailureIsIo) {
  const Error a = mapped([] { throw std::ios_base::failure("bad"); });
  EXPECT_EQ(a.code(), ErrorCode::Io);
  EXPECT_TRUE(a.message().starts_with("write failed: bad")) << a.message();
}

TEST(ForeignExceptions, AnErrorIsLocatedOnceAndKept) {
  const Error a = mapped([] { throw Error(ErrorCode::BadOpcode, "x"); }, "hook", 5, 0x2e);
  EXPECT_EQ(a.code(), ErrorCode::BadOpcode);
  EXPECT_EQ(a.message(), "x");
  EXPECT_EQ(a.offset(), 5);
  const Error b = mapped([] { throw Error(ErrorCode::BadOpcode, "x", 3); }, {}, 5);
  EXPECT_EQ(b.offset(), 3);  // where it was raised wins
}

}  // namespace
