#include "store/detail/summary_codec.h"

#include <gtest/gtest.h>

namespace rampart::store::detail {
namespace {

TEST(SummaryCodec, RoundTripsEdgeValues) {
  mime::Summary s;
  s.subject = std::string("a\0b", 3);
  s.date = INT64_MIN;
  s.size = UINT64_MAX;
  s.importance = mime::Importance::low;
  s.attachments.resize(3);
  s.attachments[2].size = UINT64_MAX;
  s.attachments[2].filename = std::string(1000, 'f');
  auto d = decodeSummary(encodeSummary(s));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->subject, s.subject);
  EXPECT_EQ(d->date, INT64_MIN);
  EXPECT_EQ(d->size, UINT64_MAX);
  EXPECT_EQ(d->importance, mime::Importance::low);
  ASSERT_EQ(d->attachments.size(), 3u);
  EXPECT_EQ(d->attachments[2].size, UINT64_MAX);
  EXPECT_EQ(d->attachments[2].filename, s.attachments[2].filename);
  for (std::int64_t date : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1700000000}, INT64_MAX}) {
    s.date = date;
    EXPECT_EQ(decodeSummary(encodeSummary(s))->date, date);
  }
}

TEST(SummaryCodec, RejectsTruncatedAndTrailingBytes) {
  mime::Summary s;
  s.subject = "hello";
  s.attachments.resize(1);
  std::string bytes = encodeSummary(s);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decodeSummary(std::string_view(bytes).substr(0, n))) << n;
  }
  EXPECT_FALSE(decodeSummary(bytes + "x"));
  EXPECT_FALSE(decodeSummary("\x09garbage"));
}

}  // namespace
}  // namespace rampart::store::detail
