// Out of Office replies (server/oof_replier.h, RFC 3834) over a real SQLite
// mail store and built-in directory: each exclusion rule, once per period,
// the time_based window, the audience choice, the reply's fields, and the
// LocalDelivery hook end to end.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "codec/mime/body.h"
#include "codec/mime/summary.h"
#include "core/clock.h"
#include "directory/builtin_directory.h"
#include "server/delivery.h"
#include "server/oof_replier.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/temp_dir.h"

namespace rampart::server {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kNow = 1'800'000'000;

struct Sent {
  std::string to;
  std::string message;
};

class OofTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db = (dir_.path() / "rampart.db").string();
    auto store = store::sqlite::openSqliteMailStore(db);
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::shared_ptr<store::MailStore>(std::move(*store));
    directory::BuiltinDirectoryOptions cheap;
    cheap.time_cost = 1;
    cheap.memory_kib = 8;
    auto dir = directory::BuiltinDirectory::open(db, cheap);
    ASSERT_TRUE(dir) << dir.error().message();
    ASSERT_TRUE((*dir)->addUser({"alice", "Alice Liddell", true, {"alice@example.test", "al@example.test"}}, "pw"));
    ASSERT_TRUE((*dir)->addUser({"bob", "Bob", true, {"bob@example.test"}}, "pw"));
    directory_ = std::shared_ptr<directory::Directory>(std::move(*dir));
    alice_ = *store_->openMailbox("alice");
    bob_ = *store_->openMailbox("bob");
    replier_ = std::make_unique<AutoReplier>(
        store_, directory_, std::vector<std::string>{"Example.test"},
        [this](const std::string& to, std::shared_ptr<const std::string> m) {
          std::lock_guard lock(mutex_);
          sent_.push_back({to, *m});
        },
        clock_);
  }

  void setOof(store::MailboxId mailbox, store::OofState state = store::OofState::global) {
    store::OofSettings oof;
    oof.state = state;
    oof.start_time = kNow - 3600;
    oof.end_time = kNow + 3600;
    oof.internal = {true, "Internal: back Monday.", false};
    oof.external_known = {true, "<p>Known: back <b>Monday</b>.</p>", true};
    oof.external_unknown = {true, "Unknown: back Monday.\nRegards", false};
    ASSERT_TRUE(store_->setOof(mailbox, oof));
  }

  static std::string message(const std::string& from, const std::string& extra = "",
                             const std::string& to = "Alice <alice@example.test>") {
    return "From: " + from + "\r\nTo: " + to + "\r\n" + extra +
           "Subject: Lunch?\r\nMessage-ID: <m1@example.net>\r\nReferences: <m0@example.net>\r\n"
           "\r\nShall we?\r\n";
  }

  AutoReplyOutcome once(const std::string& sender, const std::string& bytes,
                        std::vector<std::string> users = {"alice"}) {
    DeliveredMessage d;
    d.bytes = std::make_shared<const std::string>(bytes);
    d.users = std::move(users);
    d.envelope_sender = sender;
    auto outcomes = replier_->process(d);
    EXPECT_EQ(outcomes.size(), d.users.size());
    return outcomes.empty() ? AutoReplyOutcome::error : outcomes[0];
  }

  std::size_t sentCount() {
    std::lock_guard lock(mutex_);
    return sent_.size();
  }

  testing::TempDir dir_{"rampart-oof"};
  ManualClock clock_{std::chrono::system_clock::time_point(seconds(kNow))};
  std::shared_ptr<store::MailStore> store_;
  std::shared_ptr<directory::Directory> directory_;
  store::MailboxId alice_ = 0;
  store::MailboxId bob_ = 0;
  std::mutex mutex_;
  std::vector<Sent> sent_;
  std::unique_ptr<AutoReplier> replier_;  // last: its worker stops first
};

TEST_F(OofTest, RepliesOnceWithRfc3834Fields) {
  setOof(alice_);
  EXPECT_EQ(once("carol@example.net", message("Carol <carol@example.net>")), AutoReplyOutcome::sent);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].to, "carol@example.net");
  const std::string& r = sent_[0].message;
  EXPECT_NE(r.find("From: \"Alice Liddell\" <alice@example.test>\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("To: <carol@example.net>\r\n"), std::string::npos);
  EXPECT_NE(r.find("Subject: Automatic reply: Lunch?\r\n"), std::string::npos);
  EXPECT_NE(r.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
  EXPECT_NE(r.find("In-Reply-To: <m1@example.net>\r\n"), std::string::npos);
  EXPECT_NE(r.find("References: <m0@example.net>\r\n <m1@example.net>\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Message-ID: <oof."), std::string::npos);
  auto summary = mime::summarize(r);
  EXPECT_TRUE(summary.well_formed);
  EXPECT_EQ(summary.subject, "Automatic reply: Lunch?");
  // Carol is external and never mailed: the external_unknown text, as text.
  auto bodies = mime::extractBodies(r);
  EXPECT_EQ(bodies.plain, "Unknown: back Monday.\r\nRegards");
  EXPECT_FALSE(bodies.html_native);

  // RFC 3834 3.1.1: not again within the period, in any case of the address...
  clock_.advance(std::chrono::hours(24 * 6));
  EXPECT_EQ(once("CAROL@example.net", message("carol@example.net")), AutoReplyOutcome::already_replied);
  // ...but again once it is over.
  clock_.advance(std::chrono::hours(24));
  EXPECT_EQ(once("carol@example.net", message("carol@example.net")), AutoReplyOutcome::sent);
  EXPECT_EQ(sentCount(), 2u);
}

TEST_F(OofTest, NeverRepliesToAutomatedOrListMail) {
  setOof(alice_);
  const std::string from = "carol@example.net";
  EXPECT_EQ(once("", message(from)), AutoReplyOutcome::null_sender);
  EXPECT_EQ(once("MAILER-DAEMON@example.net", message(from)), AutoReplyOutcome::daemon_sender);
  EXPECT_EQ(once("owner-list@example.net", message(from)), AutoReplyOutcome::daemon_sender);
  EXPECT_EQ(once("list-request@example.net", message(from)), AutoReplyOutcome::daemon_sender);
  EXPECT_EQ(once(from, message(from, "Auto-Submitted: auto-replied\r\n")), AutoReplyOutcome::auto_submitted);
  EXPECT_EQ(once(from, message(from, "Auto-Submitted: Auto-Generated (cron)\r\n")),
            AutoReplyOutcome::auto_submitted);
  EXPECT_EQ(once(from, message(from, "Precedence: bulk\r\n")), AutoReplyOutcome::bulk);
  EXPECT_EQ(once(from, message(from, "Precedence: List\r\n")), AutoReplyOutcome::bulk);
  EXPECT_EQ(once(from, message(from, "Precedence: junk\r\n")), AutoReplyOutcome::bulk);
  EXPECT_EQ(once(from, message(from, "List-Id: <dev.lists.example.net>\r\n")), AutoReplyOutcome::mailing_list);
  EXPECT_EQ(once(from, message(from, "List-Unsubscribe: <mailto:u@example.net>\r\n")),
            AutoReplyOutcome::mailing_list);
  EXPECT_EQ(once(from, message(from, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                                     " boundary=x\r\n")),
            AutoReplyOutcome::report);
  EXPECT_EQ(once(from, message(from, "X-Auto-Response-Suppress: DR, OOF\r\n")), AutoReplyOutcome::suppressed);
  EXPECT_EQ(sentCount(), 0u);
  // "no" is a person's message; so is a Precedence nobody lists.
  EXPECT_EQ(once(from, message(from, "Auto-Submitted: no\r\nPrecedence: first-class\r\n")),
            AutoReplyOutcome::sent);
}

TEST_F(OofTest, OnlyWhenAddressedAndNotToSelf) {
  setOof(alice_);
  // Alice's own address, under any of her addresses.
  EXPECT_EQ(once("Al@Example.test", message("al@example.test")), AutoReplyOutcome::own_address);
  // Not in To/Cc: a list expansion or a Bcc (RFC 3834 2).
  EXPECT_EQ(once("carol@example.net", message("carol@example.net", "", "team@example.net")),
            AutoReplyOutcome::not_addressed);
  // Named in Cc by an alias, inside a group and with a comment and a quoted comma.
  EXPECT_EQ(once("carol@example.net",
                 message("carol@example.net", "Cc: Friends: \"Liddell, A.\" <AL@example.test> (home);\r\n",
                         "team@example.net")),
            AutoReplyOutcome::sent);
  EXPECT_EQ(sentCount(), 1u);
}

TEST_F(OofTest, TimeBasedWindowAndDisabled) {
  EXPECT_EQ(once("carol@example.net", message("carol@example.net")), AutoReplyOutcome::oof_off);
  setOof(alice_, store::OofState::time_based);  // [kNow - 1h, kNow + 1h)
  clock_.advance(std::chrono::hours(1));
  EXPECT_EQ(once("carol@example.net", message("carol@example.net")), AutoReplyOutcome::oof_off);
  ManualClock before{std::chrono::system_clock::time_point(seconds(kNow - 3601))};
  AutoReplier early(store_, directory_, {"example.test"}, [](auto&&...) {}, before);
  DeliveredMessage d{std::make_shared<const std::string>(message("carol@example.net")), {"alice"},
                     "carol@example.net", 0};
  EXPECT_EQ(early.process(d)[0], AutoReplyOutcome::oof_off);
  ManualClock inside{std::chrono::system_clock::time_point(seconds(kNow - 3600))};
  AutoReplier on_time(store_, directory_, {"example.test"}, [](auto&&...) {}, inside);
  EXPECT_EQ(on_time.process(d)[0], AutoReplyOutcome::sent);
  // Turning it off (and on again) forgets whom it answered.
  store::OofSettings off = *store_->getOof(alice_);
  off.state = store::OofState::disabled;
  ASSERT_TRUE(store_->setOof(alice_, off));
  EXPECT_EQ(once("carol@example.net", message("carol@example.net")), AutoReplyOutcome::oof_off);
  setOof(alice_);
  EXPECT_EQ(once("carol@example.net", message("carol@example.net")), AutoReplyOutcome::sent);
}

TEST_F(OofTest, AudienceChoosesTheReply) {
  setOof(alice_);
  // Internal: a sender in one of our domains.
  EXPECT_EQ(once("bob@example.test", message("bob@example.test")), AutoReplyOutcome::sent);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(mime::extractBodies(sent_[0].message).plain, "Internal: back Monday.");

  // External known: Alice has mailed dave (Sent Items), so dave gets the HTML one.
  store::Delivery copy;
  copy.bytes = std::make_shared<const std::string>(
      "From: alice@example.test\r\nTo: \"Smith, Dave\" <Dave@example.org>\r\nSubject: hi\r\n\r\nhi\r\n");
  copy.summary = mime::summarize(*copy.bytes);
  copy.received_at = kNow - 100;
  store::Delivery::Target target;
  target.mailbox = alice_;
  target.type = store::FolderType::sent_items;
  target.read = true;
  copy.targets.push_back(target);
  ASSERT_TRUE(store_->deliverSync(copy));
  EXPECT_EQ(once("dave@example.org", message("dave@example.org")), AutoReplyOutcome::sent);
  ASSERT_EQ(sent_.size(), 2u);
  auto bodies = mime::extractBodies(sent_[1].message);
  EXPECT_TRUE(bodies.html_native);
  EXPECT_EQ(bodies.html, "<p>Known: back <b>Monday</b>.</p>");

  // An audience whose reply is off gets none, and is not recorded: turning
  // it on later still answers.
  store::OofSettings oof = *store_->getOof(alice_);
  oof.external_unknown.enabled = false;
  ASSERT_TRUE(store_->setOof(alice_, oof));
  EXPECT_EQ(once("erin@example.net", message("erin@example.net")), AutoReplyOutcome::audience_disabled);
  oof.external_unknown.enabled = true;
  ASSERT_TRUE(store_->setOof(alice_, oof));
  EXPECT_EQ(once("erin@example.net", message("erin@example.net")), AutoReplyOutcome::sent);
}

TEST_F(OofTest, EachRecipientDecidesForItself) {
  setOof(alice_);
  DeliveredMessage d{std::make_shared<const std::string>(
                         message("carol@example.net", "", "alice@example.test, bob@example.test")),
                     {"alice", "bob"}, "carol@example.net", 0};
  auto outcomes = replier_->process(d);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0], AutoReplyOutcome::sent);
  EXPECT_EQ(outcomes[1], AutoReplyOutcome::oof_off);
}

TEST_F(OofTest, ReplyHeaderIsSafeForAnySubjectAndName) {
  AutoReplyMessage m;
  m.from_address = "alice@example.test";
  m.from_display_name = "Zoë \"Z\"";
  m.to = "carol@example.net";
  m.original_subject = std::string(2000, 'x') + "\r\nBcc: evil@example.net";
  m.original_message_id = "<bad id@x>";
  m.body = std::string(5000, 'y');
  m.now = std::chrono::system_clock::time_point(seconds(kNow));
  m.unique = "abc";
  std::string r = buildAutoReply(m);
  EXPECT_EQ(r.find("\r\nBcc:"), std::string::npos);
  EXPECT_EQ(r.find("In-Reply-To:"), std::string::npos);  // an unusable msg-id is dropped
  EXPECT_NE(r.find("From: =?utf-8?b?"), std::string::npos);
  std::size_t pos = 0;
  while (pos < r.size()) {
    auto end = r.find("\r\n", pos);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - pos, 998u);
    pos = end + 2;
  }
  EXPECT_EQ(mime::extractBodies(r).plain, std::string(5000, 'y'));
  EXPECT_EQ(mime::summarize(r).from.find("Zo"), 0u) << mime::summarize(r).from;
}

// LocalDelivery -> hook -> AutoReplier worker -> Send, after the commit.
TEST_F(OofTest, LocalDeliveryHookRepliesAfterCommit) {
  setOof(alice_);
  auto delivery = std::make_shared<LocalDelivery>(store_, directory_, std::vector<std::string>{"example.test"});
  std::shared_ptr<AutoReplier> replier = std::move(replier_);
  delivery->onDelivered(AutoReplier::hook(replier));
  auto deliverFrom = [&](const std::string& sender) {
    std::promise<bool> done;
    delivery->deliver(std::make_shared<const std::string>(message("carol@example.net")), {"alice"}, sender,
                      [&](Result<store::DeliveryReceipt> r) { done.set_value(r.has_value()); });
    EXPECT_TRUE(done.get_future().get());
  };
  deliverFrom("carol@example.net");
  deliverFrom("carol@example.net");
  deliverFrom("");  // a bounce: never answered
  replier->drain();
  EXPECT_EQ(sentCount(), 1u);
  delivery->onDelivered(nullptr);
  replier.reset();
}

}  // namespace
}  // namespace rampart::server
