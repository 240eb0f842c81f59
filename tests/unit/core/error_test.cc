#include "core/error.h"

#include <gtest/gtest.h>

namespace rampart {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) return fail(Errc::invalid_argument, "odd value " + std::to_string(v));
  return v / 2;
}

TEST(ErrorTest, ResultCarriesValueOrError) {
  EXPECT_EQ(*half(4), 2);
  auto r = half(3);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_EQ(r.error().message(), "odd value 3: invalid argument");
}

TEST(ErrorTest, ErrorCodeComparesToEnum) {
  std::error_code ec = Errc::timeout;
  EXPECT_EQ(ec, Errc::timeout);
  EXPECT_STREQ(ec.category().name(), "rampart");
  EXPECT_EQ((Error{ec, ""}.message()), "timed out");
}

}  // namespace
}  // namespace rampart
