#include <gtest/gtest.h>

#include "unit/server/smtp_test_util.h"
#include "store/sqlite/sqlite_outbound_queue.h"

namespace rampart::store {
namespace {

using rampart::server::smtp::testing::TempDir;
using sqlite::SqliteOutboundQueue;
using Kind = RecipientOutcome::Kind;
using namespace std::chrono_literals;

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'800'000'000));

TEST(OutboundQueue, EnqueueThenDue) {
  TempDir dir;
  auto q = SqliteOutboundQueue::open(dir.file("rampart.db"));
  ASSERT_TRUE(q) << q.error().message();
  auto id = (*q)->enqueue("alice@a.test", {"x@b.test", "y@b.test", "x@b.test"}, "bytes\r\n", kT0);
  ASSERT_TRUE(id) << id.error().message();

  auto due = (*q)->due(kT0, 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  const auto& e = due->front();
  EXPECT_EQ(e.id, *id);
  EXPECT_EQ(e.sender, "alice@a.test");
  EXPECT_EQ(e.recipients, (std::vector<std::string>{"x@b.test", "y@b.test"}));  // folded
  EXPECT_EQ(e.attempts, 0);
  EXPECT_EQ(e.size, 7u);
  EXPECT_EQ(e.created_at, kT0);
  EXPECT_EQ(*(*q)->messageBytes(*id), "bytes\r\n");
  EXPECT_TRUE((*q)->due(kT0 - 1s, 10)->empty());
  EXPECT_EQ(**(*q)->nextDue(), kT0);
}

TEST(OutboundQueue, RejectsEmptyRecipients) {
  TempDir dir;
  auto q = SqliteOutboundQueue::open(dir.file("rampart.db"));
  ASSERT_TRUE(q);
  auto id = (*q)->enqueue("a@a.test", {}, "x", kT0);
  ASSERT_FALSE(id);
  EXPECT_TRUE(id.error().is(Errc::invalid_argument));
}

TEST(OutboundQueue, PartialSuccessKeepsTemporaryRecipients) {
  TempDir dir;
  auto q = SqliteOutboundQueue::open(dir.file("rampart.db"));
  ASSERT_TRUE(q);
  auto id = (*q)->enqueue("a@a.test", {"ok@b.test", "no@b.test", "later@b.test"}, "m", kT0);
  ASSERT_TRUE(id);
  auto st = (*q)->recordAttempt(*id,
                                {{"ok@b.test", Kind::delivered, ""},
                                 {"no@b.test", Kind::permanent, "550 5.1.1 no"},
                                 {"later@b.test", Kind::temporary, "451 4.3.0 later"}},
                                kT0 + 60s);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE((*q)->due(kT0 + 59s, 10)->empty());
  auto due = (*q)->due(kT0 + 60s, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ(due->front().recipients, std::vector<std::string>{"later@b.test"});
  EXPECT_EQ(due->front().attempts, 1);
  EXPECT_EQ(due->front().last_error, "451 4.3.0 later");
  EXPECT_EQ(**(*q)->nextDue(), kT0 + 60s);

  ASSERT_TRUE((*q)->recordAttempt(*id, {{"later@b.test", Kind::delivered, ""}}, kT0 + 120s));
  EXPECT_TRUE((*q)->list()->empty());
  EXPECT_FALSE((*q)->nextDue()->has_value());
  EXPECT_TRUE((*q)->messageBytes(*id).error().is(Errc::not_found));
  EXPECT_TRUE((*q)->recordAttempt(*id, {}, kT0).error().is(Errc::not_found));
}

TEST(OutboundQueue, DueOrderAndLimit) {
  TempDir dir;
  auto q = SqliteOutboundQueue::open(dir.file("rampart.db"));
  ASSERT_TRUE(q);
  auto a = (*q)->enqueue("", {"a@b.test"}, "1", kT0 + 2s);
  auto b = (*q)->enqueue("", {"b@b.test"}, "2", kT0 + 1s);
  auto c = (*q)->enqueue("", {"c@b.test"}, "3", kT0 + 3s);
  ASSERT_TRUE(a && b && c);
  auto due = (*q)->due(kT0 + 10s, 2);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id, *b);
  EXPECT_EQ((*due)[1].id, *a);
  EXPECT_EQ((*q)->list()->size(), 3u);
  ASSERT_TRUE((*q)->remove(*c));
  EXPECT_TRUE((*q)->remove(*c).error().is(Errc::not_found));
  EXPECT_EQ((*q)->list()->size(), 2u);
}

TEST(OutboundQueue, SurvivesReopen) {
  TempDir dir;
  QueueId id = 0;
  {
    auto q = SqliteOutboundQueue::open(dir.file("rampart.db"));
    ASSERT_TRUE(q);
    id = *(*q)->enqueue("a@a.test", {"x@b.test", "y@b.test"}, std::string("8bit \xc3\xa9\0z", 10), kT0);
    ASSERT_TRUE((*q)->recordAttempt(id, {{"x@b.test", Kind::delivered, ""},
                                         {"y@b.test", Kind::temporary, "timed out"}},
                                    kT0 + 5s));
  }
  // A second connection beside the first, as `rampart admin mail send` has.
  auto q = SqliteOutboundQueue::open(dir.file("rampart.db"));
  ASSERT_TRUE(q) << q.error().message();
  auto other = SqliteOutboundQueue::open(dir.file("rampart.db"));
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->enqueue("b@a.test", {"z@b.test"}, "later", kT0 + 1s));
  auto list = (*q)->list();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].recipients, std::vector<std::string>{"y@b.test"});
  EXPECT_EQ((*list)[0].attempts, 1);
  EXPECT_EQ((*list)[0].next_attempt, kT0 + 5s);
  EXPECT_EQ(*(*q)->messageBytes(id), std::string("8bit \xc3\xa9\0z", 10));
}

}  // namespace
}  // namespace rampart::store
