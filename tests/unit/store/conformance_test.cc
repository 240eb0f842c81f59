// The MailStore conformance suite: written against the interface only and run
// against every backend (INSTANTIATE_TEST_SUITE_P at the bottom). A new backend
// adds one factory and must pass all of it.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "store/mail_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "store_test_util.h"

namespace rampart::store {
namespace {

using testing::makeDelivery;
using testing::sampleMessage;
using testing::TempDir;
using testing::toInbox;

struct BackendFactory {
  std::string name;
  // Opens the backend's store kept under `dir`; opening again after the
  // previous store was destroyed must see everything it committed.
  std::function<Result<std::unique_ptr<MailStore>>(const std::filesystem::path& dir)> open;
};

void PrintTo(const BackendFactory& f, std::ostream* os) { *os << f.name; }

class MailStoreConformance : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    reopen();
  }

  void reopen() {
    store_.reset();
    auto s = GetParam().open(dir_.path());
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }

  MailboxId mailbox(const std::string& owner) {
    auto m = store_->openMailbox(owner);
    EXPECT_TRUE(m) << m.error().message();
    return m ? *m : 0;
  }

  Folder folder(MailboxId mb, FolderType type) {
    auto f = store_->folderOfType(mb, type);
    EXPECT_TRUE(f) << f.error().message();
    return f ? *f : Folder{};
  }

  ItemId deliverOne(MailboxId mb, const std::string& subject, std::int64_t received_at = 1000) {
    auto r = store_->deliverSync(makeDelivery(sampleMessage(subject), received_at, {toInbox(mb)}));
    EXPECT_TRUE(r) << r.error().message();
    return r && !r->items.empty() ? r->items[0] : 0;
  }

  std::vector<Change> allChanges(FolderId f, Seq since = 0) {
    auto c = store_->changes(f, since, 100000);
    EXPECT_TRUE(c) << c.error().message();
    return c ? *c : std::vector<Change>{};
  }

  TempDir dir_;
  std::unique_ptr<MailStore> store_;
};

// --- mailboxes and folders -------------------------------------------------------

TEST_P(MailStoreConformance, OpenMailboxIsIdempotent) {
  auto none = store_->findMailbox("alice");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  MailboxId a = mailbox("alice");
  EXPECT_EQ(mailbox("alice"), a);
  EXPECT_NE(mailbox("bob"), a);
  auto found = store_->findMailbox("alice");
  ASSERT_TRUE(found);
  ASSERT_TRUE(*found);
  EXPECT_EQ(**found, a);
  auto folders = store_->listFolders(a);
  ASSERT_TRUE(folders);
  EXPECT_EQ(folders->size(), 5u);  // not created twice
}

TEST_P(MailStoreConformance, OpenMailboxConcurrentlyCreatesOne) {
  std::vector<std::thread> threads;
  std::vector<MailboxId> ids(6);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] { ids[i] = *store_->openMailbox("carol"); });
  }
  for (auto& t : threads) t.join();
  for (MailboxId id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(store_->listFolders(ids[0])->size(), 5u);
}

TEST_P(MailStoreConformance, DefaultFolders) {
  MailboxId mb = mailbox("alice");
  auto folders = store_->listFolders(mb);
  ASSERT_TRUE(folders);
  std::map<FolderType, std::string> expected{{FolderType::inbox, "Inbox"},
                                             {FolderType::drafts, "Drafts"},
                                             {FolderType::deleted_items, "Deleted Items"},
                                             {FolderType::sent_items, "Sent Items"},
                                             {FolderType::outbox, "Outbox"}};
  ASSERT_EQ(folders->size(), expected.size());
  for (const Folder& f : *folders) {
    ASSERT_TRUE(expected.count(f.type)) << f.name;
    EXPECT_EQ(f.name, expected[f.type]);
    EXPECT_EQ(f.mailbox, mb);
    EXPECT_FALSE(f.parent);
    EXPECT_EQ(f.last_seq, 0);
    auto by_type = store_->folderOfType(mb, f.type);
    ASSERT_TRUE(by_type);
    EXPECT_EQ(by_type->id, f.id);
  }
  auto log = store_->folderChanges(mb, 0);
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 5u);
  for (std::size_t i = 0; i < log->size(); ++i) {
    EXPECT_EQ((*log)[i].seq, static_cast<Seq>(i + 1));
    EXPECT_EQ((*log)[i].kind, ChangeKind::add);
  }
  EXPECT_EQ(*store_->folderHierarchySeq(mb), 5);
  // Another mailbox's default folders are its own.
  MailboxId other = mailbox("bob");
  EXPECT_NE(folder(other, FolderType::inbox).id, folder(mb, FolderType::inbox).id);
}

TEST_P(MailStoreConformance, UnknownIdsAreNotFound) {
  EXPECT_TRUE(store_->listFolders(999).error().is(Errc::not_found));
  EXPECT_TRUE(store_->getFolder(999).error().is(Errc::not_found));
  EXPECT_TRUE(store_->folderOfType(999, FolderType::inbox).error().is(Errc::not_found));
  EXPECT_TRUE(store_->folderChanges(999, 0).error().is(Errc::not_found));
  EXPECT_TRUE(store_->folderHierarchySeq(999).error().is(Errc::not_found));
  EXPECT_TRUE(store_->getItem(999).error().is(Errc::not_found));
  EXPECT_TRUE(store_->messageBytes(999).error().is(Errc::not_found));
  EXPECT_TRUE(store_->listItems(999, 0, 0, 10).error().is(Errc::not_found));
  EXPECT_TRUE(store_->countItems(999, 0).error().is(Errc::not_found));
  EXPECT_TRUE(store_->setRead(999, true).error().is(Errc::not_found));
  EXPECT_TRUE(store_->setFlag(999, FlagStatus::active).error().is(Errc::not_found));
  EXPECT_TRUE(store_->deleteItem(999).error().is(Errc::not_found));
  EXPECT_TRUE(store_->emptyFolder(999).error().is(Errc::not_found));
  EXPECT_TRUE(store_->changes(999, 0, 10).error().is(Errc::not_found));
  EXPECT_TRUE(store_->deleteFolder(999).error().is(Errc::not_found));
  EXPECT_TRUE(store_->createFolder(999, std::nullopt, "x", FolderType::user_mail)
                  .error().is(Errc::not_found));
  MailboxId mb = mailbox("alice");
  EXPECT_TRUE(store_->createFolder(mb, FolderId{999}, "x", FolderType::user_mail)
                  .error().is(Errc::not_found));
  ItemId item = deliverOne(mb, "one");
  EXPECT_TRUE(store_->moveItem(item, 999).error().is(Errc::not_found));
}

TEST_P(MailStoreConformance, FolderCrudAndHierarchyLog) {
  MailboxId mb = mailbox("alice");
  Seq base = *store_->folderHierarchySeq(mb);

  auto projects = store_->createFolder(mb, std::nullopt, "Projects", FolderType::user_mail);
  ASSERT_TRUE(projects) << projects.error().message();
  EXPECT_EQ(projects->name, "Projects");
  EXPECT_FALSE(projects->parent);
  EXPECT_EQ(projects->type, FolderType::user_mail);
  EXPECT_EQ(projects->mailbox, mb);

  auto rampart = store_->createFolder(mb, projects->id, "Rampart", FolderType::user_mail);
  ASSERT_TRUE(rampart);
  EXPECT_EQ(rampart->parent, projects->id);
  auto deep = store_->createFolder(mb, rampart->id, "Deep", FolderType::user_generic);
  ASSERT_TRUE(deep);

  // Names are unique per parent, not per mailbox.
  EXPECT_TRUE(store_->createFolder(mb, std::nullopt, "Projects", FolderType::user_mail)
                  .error().is(Errc::already_exists));
  EXPECT_TRUE(store_->createFolder(mb, std::nullopt, "Inbox", FolderType::user_mail)
                  .error().is(Errc::already_exists));
  EXPECT_TRUE(store_->createFolder(mb, projects->id, "Rampart", FolderType::user_mail)
                  .error().is(Errc::already_exists));
  EXPECT_TRUE(store_->createFolder(mb, rampart->id, "Projects", FolderType::user_mail));
  EXPECT_TRUE(store_->createFolder(mailbox("bob"), std::nullopt, "Projects",
                                   FolderType::user_mail));
  EXPECT_TRUE(store_->createFolder(mb, std::nullopt, "", FolderType::user_mail)
                  .error().is(Errc::invalid_argument));

  // Rename, then move to top level.
  auto renamed = store_->updateFolder(rampart->id, projects->id, "Rampart 2");
  ASSERT_TRUE(renamed) << renamed.error().message();
  EXPECT_EQ(renamed->name, "Rampart 2");
  auto moved = store_->updateFolder(rampart->id, std::nullopt, "");
  ASSERT_TRUE(moved) << moved.error().message();
  EXPECT_FALSE(moved->parent);
  EXPECT_EQ(moved->name, "Rampart 2");
  EXPECT_TRUE(store_->updateFolder(rampart->id, std::nullopt, "Projects")
                  .error().is(Errc::already_exists));

  // Cycles are refused.
  EXPECT_TRUE(store_->updateFolder(rampart->id, rampart->id, "")
                  .error().is(Errc::invalid_argument));
  EXPECT_TRUE(store_->updateFolder(rampart->id, deep->id, "")
                  .error().is(Errc::invalid_argument));

  // Default folders stay where they are.
  Folder inbox = folder(mb, FolderType::inbox);
  EXPECT_TRUE(store_->updateFolder(inbox.id, projects->id, "").error().is(Errc::invalid_argument));
  EXPECT_TRUE(store_->updateFolder(inbox.id, std::nullopt, "Mail")
                  .error().is(Errc::invalid_argument));
  EXPECT_TRUE(store_->deleteFolder(inbox.id).error().is(Errc::invalid_argument));
  // ...but a user folder may live under one.
  auto under_inbox = store_->createFolder(mb, inbox.id, "Receipts", FolderType::user_mail);
  ASSERT_TRUE(under_inbox);

  // A folder in another mailbox is not a valid parent.
  Folder bob_inbox = folder(mailbox("bob"), FolderType::inbox);
  EXPECT_TRUE(store_->updateFolder(projects->id, bob_inbox.id, "")
                  .error().is(Errc::invalid_argument));

  // Deleting removes the subtree and its items.
  ItemId item = *store_->deliverSync(makeDelivery(sampleMessage("deep"), 5, [&] {
                  Delivery::Target t = toInbox(mb);
                  t.folder = deep->id;
                  return std::vector<Delivery::Target>{t};
                }()))->items.begin();
  ASSERT_TRUE(store_->updateFolder(rampart->id, projects->id, ""));
  ASSERT_TRUE(store_->deleteFolder(projects->id));
  EXPECT_TRUE(store_->getFolder(projects->id).error().is(Errc::not_found));
  EXPECT_TRUE(store_->getFolder(rampart->id).error().is(Errc::not_found));
  EXPECT_TRUE(store_->getFolder(deep->id).error().is(Errc::not_found));
  EXPECT_TRUE(store_->getItem(item).error().is(Errc::not_found));
  EXPECT_TRUE(store_->getFolder(under_inbox->id));

  auto log = store_->folderChanges(mb, base);
  ASSERT_TRUE(log);
  std::vector<std::pair<ChangeKind, FolderId>> got;
  for (const FolderChange& c : *log) got.emplace_back(c.kind, c.folder);
  // adds: Projects, Rampart, Deep, Projects-under-Rampart (id unknown), Receipts
  ASSERT_GE(got.size(), 9u);
  EXPECT_EQ(got[0], std::make_pair(ChangeKind::add, projects->id));
  EXPECT_EQ(got[1], std::make_pair(ChangeKind::add, rampart->id));
  EXPECT_EQ(got[2], std::make_pair(ChangeKind::add, deep->id));
  std::multiset<FolderId> removed, changed;
  for (auto& [kind, id] : got) {
    if (kind == ChangeKind::remove) removed.insert(id);
    if (kind == ChangeKind::change) changed.insert(id);
  }
  EXPECT_EQ(changed.count(rampart->id), 3u);  // rename, move up, move back
  EXPECT_EQ(removed.count(projects->id), 1u);
  EXPECT_EQ(removed.count(rampart->id), 1u);
  EXPECT_EQ(removed.count(deep->id), 1u);
  EXPECT_EQ(removed.size(), 4u);  // plus "Projects" under Rampart
  // Sequence numbers are dense and increasing.
  for (std::size_t i = 0; i < log->size(); ++i) {
    EXPECT_EQ((*log)[i].seq, base + static_cast<Seq>(i) + 1);
  }
  EXPECT_EQ(*store_->folderHierarchySeq(mb), log->back().seq);
  auto tail = store_->folderChanges(mb, log->back().seq);
  ASSERT_TRUE(tail);
  EXPECT_TRUE(tail->empty());
}

// --- deliveries ------------------------------------------------------------------

TEST_P(MailStoreConformance, DeliveryToSeveralMailboxesStoresBytesOnce) {
  MailboxId a = mailbox("alice"), b = mailbox("bob");
  std::string bytes = sampleMessage("shared");
  Delivery::Target sent = toInbox(a);
  sent.type = FolderType::sent_items;
  sent.read = true;
  auto r = store_->deliverSync(makeDelivery(bytes, 1234, {toInbox(b), sent, toInbox(a)}));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->items.size(), 3u);
  std::set<ItemId> distinct(r->items.begin(), r->items.end());
  EXPECT_EQ(distinct.size(), 3u);

  auto ib = store_->getItem(r->items[0]);
  auto sa = store_->getItem(r->items[1]);
  auto ia = store_->getItem(r->items[2]);
  ASSERT_TRUE(ib && sa && ia);
  EXPECT_EQ(ib->mailbox, b);
  EXPECT_EQ(ib->folder, folder(b, FolderType::inbox).id);
  EXPECT_FALSE(ib->read);
  EXPECT_EQ(sa->folder, folder(a, FolderType::sent_items).id);
  EXPECT_TRUE(sa->read);
  EXPECT_EQ(ia->folder, folder(a, FolderType::inbox).id);
  for (const Item* it : {&*ib, &*sa, &*ia}) {
    EXPECT_EQ(it->message, r->message);
    EXPECT_EQ(it->received_at, 1234);
    EXPECT_EQ(it->flag, FlagStatus::cleared);
    EXPECT_EQ(*store_->messageBytes(it->id), bytes);
  }
  // Deleting one copy leaves the others' bytes alone.
  ASSERT_TRUE(store_->deleteItem(r->items[0]));
  EXPECT_EQ(*store_->messageBytes(r->items[1]), bytes);
  ASSERT_TRUE(store_->deleteItem(r->items[1]));
  EXPECT_EQ(*store_->messageBytes(r->items[2]), bytes);
}

TEST_P(MailStoreConformance, DeliveryToExplicitFolder) {
  MailboxId a = mailbox("alice");
  auto user = store_->createFolder(a, std::nullopt, "Lists", FolderType::user_mail);
  ASSERT_TRUE(user);
  Delivery::Target t = toInbox(a);
  t.folder = user->id;
  auto r = store_->deliverSync(makeDelivery(sampleMessage("list"), 1, {t}));
  ASSERT_TRUE(r);
  EXPECT_EQ(store_->getItem(r->items[0])->folder, user->id);
  // A folder of another mailbox is not there.
  Delivery::Target wrong = toInbox(mailbox("bob"));
  wrong.folder = user->id;
  EXPECT_TRUE(store_->deliverSync(makeDelivery(sampleMessage("x"), 1, {wrong}))
                  .error().is(Errc::not_found));
}

TEST_P(MailStoreConformance, DeliveryWithoutBytesOrTargetsIsInvalid) {
  MailboxId a = mailbox("alice");
  Delivery no_bytes = makeDelivery("x", 1, {toInbox(a)});
  no_bytes.bytes.reset();
  EXPECT_TRUE(store_->deliverSync(std::move(no_bytes)).error().is(Errc::invalid_argument));
  EXPECT_TRUE(store_->deliverSync(makeDelivery("x", 1, {})).error().is(Errc::invalid_argument));
}

TEST_P(MailStoreConformance, UnknownMailboxFailsOnlyThatDelivery) {
  MailboxId a = mailbox("alice");
  constexpr int kCount = 40;
  std::vector<std::promise<Result<DeliveryReceipt>>> promises(kCount);
  // Queued without waiting, so they share batches with the bad one.
  for (int i = 0; i < kCount; ++i) {
    MailboxId target = i == kCount / 2 ? 424242 : a;
    store_->deliver(makeDelivery(sampleMessage("m" + std::to_string(i)), i, {toInbox(target)}),
                    [&promises, i](Result<DeliveryReceipt> r) { promises[i].set_value(std::move(r)); });
  }
  // A delivery with one good and one bad target fails as a whole.
  auto mixed = store_->deliverSync(
      makeDelivery(sampleMessage("mixed"), 1, {toInbox(a), toInbox(434343)}));
  ASSERT_FALSE(mixed);
  EXPECT_TRUE(mixed.error().is(Errc::not_found));
  for (int i = 0; i < kCount; ++i) {
    auto r = promises[i].get_future().get();
    if (i == kCount / 2) {
      ASSERT_FALSE(r);
      EXPECT_TRUE(r.error().is(Errc::not_found));
    } else {
      ASSERT_TRUE(r) << i << ": " << r.error().message();
      EXPECT_EQ(*store_->messageBytes(r->items[0]), sampleMessage("m" + std::to_string(i)));
    }
  }
  Folder inbox = folder(a, FolderType::inbox);
  EXPECT_EQ(*store_->countItems(inbox.id, 0), static_cast<std::size_t>(kCount - 1));
  EXPECT_EQ(allChanges(inbox.id).size(), static_cast<std::size_t>(kCount - 1));
}

TEST_P(MailStoreConformance, ConcurrentDeliveriesAllLandWithDenseSequence) {
  constexpr int kThreads = 8, kPerThread = 50;
  MailboxId a = mailbox("alice"), b = mailbox("bob");
  std::mutex mutex;
  std::set<ItemId> a_items;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<Delivery::Target> targets{toInbox(a)};
        if (i % 5 == 0) targets.push_back(toInbox(b));
        auto r = store_->deliverSync(makeDelivery(
            sampleMessage("t" + std::to_string(t) + "-" + std::to_string(i)), t * 1000 + i,
            targets));
        if (!r) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mutex);
        a_items.insert(r->items[0]);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(a_items.size(), static_cast<std::size_t>(kThreads * kPerThread));
  Folder inbox = folder(a, FolderType::inbox);
  EXPECT_EQ(inbox.last_seq, kThreads * kPerThread);
  EXPECT_EQ(*store_->countItems(inbox.id, 0), static_cast<std::size_t>(kThreads * kPerThread));
  auto log = allChanges(inbox.id);
  ASSERT_EQ(log.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<ItemId> logged;
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq, static_cast<Seq>(i + 1));
    EXPECT_EQ(log[i].kind, ChangeKind::add);
    logged.insert(log[i].item);
  }
  EXPECT_EQ(logged, a_items);
  Folder b_inbox = folder(b, FolderType::inbox);
  EXPECT_EQ(b_inbox.last_seq, kThreads * kPerThread / 5);
}

// --- items and change logs -------------------------------------------------------

TEST_P(MailStoreConformance, ChangeLogRecordsAddReadFlagMoveDelete) {
  MailboxId a = mailbox("alice");
  Folder inbox = folder(a, FolderType::inbox);
  Folder deleted = folder(a, FolderType::deleted_items);
  ItemId one = deliverOne(a, "one");
  ItemId two = deliverOne(a, "two");

  ASSERT_TRUE(store_->setRead(one, true));
  ASSERT_TRUE(store_->setRead(one, true));  // no change, no entry
  ASSERT_TRUE(store_->setFlag(two, FlagStatus::active));
  auto moved = store_->moveItem(one, deleted.id);
  ASSERT_TRUE(moved) << moved.error().message();
  EXPECT_NE(*moved, one);
  ASSERT_TRUE(store_->deleteItem(two));

  auto log = allChanges(inbox.id);
  std::vector<std::tuple<Seq, ChangeKind, ItemId>> got;
  for (const Change& c : log) got.emplace_back(c.seq, c.kind, c.item);
  std::vector<std::tuple<Seq, ChangeKind, ItemId>> want{
      {1, ChangeKind::add, one},    {2, ChangeKind::add, two},
      {3, ChangeKind::change, one}, {4, ChangeKind::change, two},
      {5, ChangeKind::remove, one}, {6, ChangeKind::remove, two}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(store_->getFolder(inbox.id)->last_seq, 6);

  auto dlog = allChanges(deleted.id);
  ASSERT_EQ(dlog.size(), 1u);
  EXPECT_EQ(dlog[0].kind, ChangeKind::add);
  EXPECT_EQ(dlog[0].item, *moved);

  // The moved item keeps its state and message.
  auto m = store_->getItem(*moved);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->read);
  EXPECT_EQ(m->folder, deleted.id);
  EXPECT_EQ(*store_->messageBytes(*moved), sampleMessage("one"));
  EXPECT_TRUE(store_->getItem(one).error().is(Errc::not_found));
  EXPECT_TRUE(store_->getItem(two).error().is(Errc::not_found));

  // Reading from the middle and with a limit.
  auto mid = store_->changes(inbox.id, 2, 2);
  ASSERT_TRUE(mid);
  ASSERT_EQ(mid->size(), 2u);
  EXPECT_EQ((*mid)[0].seq, 3);
  EXPECT_EQ((*mid)[1].seq, 4);
  EXPECT_TRUE(store_->changes(inbox.id, 6, 10)->empty());
}

TEST_P(MailStoreConformance, ItemStateUpdates) {
  MailboxId a = mailbox("alice");
  ItemId one = deliverOne(a, "one");
  auto it = store_->getItem(one);
  ASSERT_TRUE(it);
  EXPECT_FALSE(it->read);
  EXPECT_EQ(it->flag, FlagStatus::cleared);
  ASSERT_TRUE(store_->setRead(one, true));
  ASSERT_TRUE(store_->setFlag(one, FlagStatus::complete));
  it = store_->getItem(one);
  EXPECT_TRUE(it->read);
  EXPECT_EQ(it->flag, FlagStatus::complete);
  ASSERT_TRUE(store_->setRead(one, false));
  EXPECT_FALSE(store_->getItem(one)->read);
}

TEST_P(MailStoreConformance, MoveItemRules) {
  MailboxId a = mailbox("alice"), b = mailbox("bob");
  ItemId one = deliverOne(a, "one");
  EXPECT_TRUE(store_->moveItem(one, folder(a, FolderType::inbox).id)
                  .error().is(Errc::invalid_argument));
  EXPECT_TRUE(store_->moveItem(one, folder(b, FolderType::inbox).id)
                  .error().is(Errc::invalid_argument));
  EXPECT_TRUE(store_->getItem(one));  // failed moves change nothing
  EXPECT_EQ(allChanges(folder(a, FolderType::inbox).id).size(), 1u);
}

TEST_P(MailStoreConformance, ListItemsOrderFilterOffsetLimit) {
  MailboxId a = mailbox("alice");
  Folder inbox = folder(a, FolderType::inbox);
  std::vector<ItemId> ids;
  // received_at 100, 300, 200, 300 (tie broken by newest item first).
  for (auto [subject, at] : std::vector<std::pair<std::string, std::int64_t>>{
           {"a", 100}, {"b", 300}, {"c", 200}, {"d", 300}}) {
    ids.push_back(deliverOne(a, subject, at));
  }
  auto all = store_->listItems(inbox.id, 0, 0, 100);
  ASSERT_TRUE(all);
  std::vector<ItemId> order;
  for (const Item& it : *all) order.push_back(it.id);
  EXPECT_EQ(order, (std::vector<ItemId>{ids[3], ids[1], ids[2], ids[0]}));
  EXPECT_EQ((*all)[0].summary.subject, makeDelivery(sampleMessage("d"), 0, {}).summary.subject);

  auto recent = store_->listItems(inbox.id, 200, 0, 100);
  ASSERT_TRUE(recent);
  EXPECT_EQ(recent->size(), 3u);
  EXPECT_EQ(*store_->countItems(inbox.id, 200), 3u);
  EXPECT_EQ(*store_->countItems(inbox.id, 301), 0u);
  EXPECT_EQ(*store_->countItems(inbox.id, 0), 4u);

  auto page = store_->listItems(inbox.id, 0, 1, 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, ids[1]);
  EXPECT_EQ((*page)[1].id, ids[2]);
  EXPECT_TRUE(store_->listItems(inbox.id, 0, 10, 2)->empty());
  EXPECT_TRUE(store_->listItems(inbox.id, 0, 0, 0)->empty());
  EXPECT_EQ(store_->listItems(inbox.id, 0, 0, SIZE_MAX)->size(), 4u);
  EXPECT_TRUE(store_->listItems(folder(a, FolderType::drafts).id, 0, 0, 10)->empty());
}

TEST_P(MailStoreConformance, ScanItemsIsAKeysetInListingOrderWithItsSnapshot) {
  MailboxId a = mailbox("alice");
  Folder inbox = folder(a, FolderType::inbox);
  std::vector<ItemId> ids;
  // received_at 100, 300, 200, 300, 50: listing order d b c a e.
  for (auto [subject, at] : std::vector<std::pair<std::string, std::int64_t>>{
           {"a", 100}, {"b", 300}, {"c", 200}, {"d", 300}, {"e", 50}}) {
    ids.push_back(deliverOne(a, subject, at));
  }
  auto first = store_->scanItems(inbox.id, ItemRange{}, 2);
  ASSERT_TRUE(first) << first.error().message();
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].id, ids[3]);
  EXPECT_EQ(first->items[1].id, ids[1]);
  EXPECT_EQ(first->items[0].summary.subject,
            makeDelivery(sampleMessage("d"), 0, {}).summary.subject);  // summaries come along
  EXPECT_EQ(first->folder_seq, store_->getFolder(inbox.id)->last_seq);
  EXPECT_GE(first->max_item, ids[4]);
  const ItemId max = first->max_item;

  // Changes after the snapshot: a later delivery (larger id, even if dated
  // in the window) stays out under max_item; a deleted item is gone; a moved
  // one comes back with a new id, also above max_item.
  ItemId late = deliverOne(a, "late", 250);
  EXPECT_GT(late, max);
  ASSERT_TRUE(store_->deleteItem(ids[2]));
  auto moved = store_->moveItem(ids[0], folder(a, FolderType::drafts).id);
  ASSERT_TRUE(moved);
  auto back = store_->moveItem(*moved, inbox.id);
  ASSERT_TRUE(back);
  EXPECT_GT(*back, max);

  ItemRange rest;
  rest.after = ItemKey{first->items[1].received_at, first->items[1].id};
  rest.max_item = max;
  auto second = store_->scanItems(inbox.id, rest, 10);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->items.size(), 1u);  // c deleted, a moved: only e
  EXPECT_EQ(second->items[0].id, ids[4]);
  EXPECT_EQ(second->folder_seq, store_->getFolder(inbox.id)->last_seq);
  EXPECT_GT(second->max_item, max);
  EXPECT_EQ(*store_->countItemsInRange(inbox.id, rest), 1u);

  // received_since, the tie on received_at, and a key between two ties.
  ItemRange recent;
  recent.received_since = 200;
  recent.max_item = max;
  EXPECT_EQ(*store_->countItemsInRange(inbox.id, recent), 2u);  // d b (c deleted)
  recent.after = ItemKey{300, ids[3]};
  auto tie = store_->scanItems(inbox.id, recent, 10);
  ASSERT_TRUE(tie);
  ASSERT_EQ(tie->items.size(), 1u);
  EXPECT_EQ(tie->items[0].id, ids[1]);
  EXPECT_EQ(*store_->countItemsInRange(inbox.id, ItemRange{}), 5u);  // d b e late back
  EXPECT_TRUE(store_->scanItems(inbox.id, ItemRange{}, 0)->items.empty());
  EXPECT_TRUE(store_->scanItems(folder(a, FolderType::outbox).id, ItemRange{}, 10)->items.empty());
  EXPECT_TRUE(store_->scanItems(999, ItemRange{}, 10).error().is(Errc::not_found));
  EXPECT_TRUE(store_->countItemsInRange(999, ItemRange{}).error().is(Errc::not_found));
}

TEST_P(MailStoreConformance, GetItemsBatchesAndSkipsUnknownIds) {
  MailboxId a = mailbox("alice");
  std::vector<ItemId> ids;
  for (int i = 0; i < 70; ++i) ids.push_back(deliverOne(a, "m" + std::to_string(i), 100 + i));
  ASSERT_TRUE(store_->deleteItem(ids[5]));
  // Unordered, with duplicates, an unknown and a deleted id, more than one batch.
  std::vector<ItemId> ask{ids[69], 999999, ids[5], ids[0], ids[0]};
  for (int i = 10; i < 69; ++i) ask.push_back(ids[i]);
  auto got = store_->getItems(ask);
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_EQ(got->size(), 61u);
  EXPECT_EQ(got->front().id, ids[0]);
  EXPECT_EQ(got->back().id, ids[69]);
  for (std::size_t i = 1; i < got->size(); ++i) EXPECT_LT((*got)[i - 1].id, (*got)[i].id);
  auto one = store_->getItem(ids[69]);
  ASSERT_TRUE(one);
  EXPECT_EQ(got->back().received_at, one->received_at);
  EXPECT_EQ(got->back().summary.subject, one->summary.subject);
  EXPECT_TRUE(store_->getItems({})->empty());
}

TEST_P(MailStoreConformance, EmptyFolderRemovesEveryItem) {
  MailboxId a = mailbox("alice");
  Folder inbox = folder(a, FolderType::inbox);
  Folder sent = folder(a, FolderType::sent_items);
  std::set<ItemId> ids;
  for (int i = 0; i < 5; ++i) ids.insert(deliverOne(a, "m" + std::to_string(i)));
  Delivery::Target t = toInbox(a);
  t.type = FolderType::sent_items;
  ItemId kept = store_->deliverSync(makeDelivery(sampleMessage("kept"), 1, {t}))->items[0];

  ASSERT_TRUE(store_->emptyFolder(inbox.id));
  EXPECT_EQ(*store_->countItems(inbox.id, 0), 0u);
  EXPECT_EQ(*store_->countItems(sent.id, 0), 1u);
  EXPECT_TRUE(store_->getItem(kept));
  auto log = allChanges(inbox.id, 5);
  ASSERT_EQ(log.size(), 5u);
  std::set<ItemId> removed;
  for (const Change& c : log) {
    EXPECT_EQ(c.kind, ChangeKind::remove);
    removed.insert(c.item);
  }
  EXPECT_EQ(removed, ids);
  ASSERT_TRUE(store_->emptyFolder(inbox.id));  // already empty: fine, no entries
  EXPECT_EQ(store_->getFolder(inbox.id)->last_seq, 10);
}

TEST_P(MailStoreConformance, MessageBytesRoundTripExactly) {
  MailboxId a = mailbox("alice");
  std::string bytes = "Subject: bin\r\n\r\n";
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes += std::string("\0\0\xff\xfe caf\xc3\xa9 \r\n.\r\n", 17);
  bytes += std::string(300000, 'x');  // spans many pages
  auto r = store_->deliverSync(makeDelivery(bytes, 1, {toInbox(a)}));
  ASSERT_TRUE(r);
  auto got = store_->messageBytes(r->items[0]);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), bytes.size());
  EXPECT_TRUE(*got == bytes);

  auto empty = store_->deliverSync(makeDelivery("", 1, {toInbox(a)}));
  ASSERT_TRUE(empty);
  EXPECT_EQ(*store_->messageBytes(empty->items[0]), "");
}

TEST_P(MailStoreConformance, SummaryRoundTrips) {
  MailboxId a = mailbox("alice");
  Delivery d = makeDelivery(sampleMessage("rich"), 77, {toInbox(a)});
  mime::Summary& s = d.summary;
  s.from = "Zo\xc3\xab <zoe@example.org>";
  s.to = "a@example.org, b@example.org";
  s.cc = "c@example.org";
  s.reply_to = "r@example.org";
  s.subject = "R\xc3\xa9sum\xc3\xa9";
  s.message_id = "<id@x>";
  s.in_reply_to = "<prev@x>";
  s.thread_topic = "topic";
  s.date = -5;
  s.importance = mime::Importance::high;
  s.size = 12345;
  s.content_type = "multipart/mixed";
  s.message_class = "IPM.Note.SMIME.MultipartSigned";
  s.preview = "Hello there";
  s.well_formed = false;
  s.truncated = true;
  s.attachments.push_back({"r\xc3\xa9port.pdf", "application/pdf", "", 1000, false, "2"});
  s.attachments.push_back({"logo.png", "image/png", "logo@x", 50, true, "1.2"});
  auto r = store_->deliverSync(d);
  ASSERT_TRUE(r);
  auto it = store_->getItem(r->items[0]);
  ASSERT_TRUE(it);
  const mime::Summary& g = it->summary;
  EXPECT_EQ(g.from, s.from);
  EXPECT_EQ(g.to, s.to);
  EXPECT_EQ(g.cc, s.cc);
  EXPECT_EQ(g.reply_to, s.reply_to);
  EXPECT_EQ(g.subject, s.subject);
  EXPECT_EQ(g.message_id, s.message_id);
  EXPECT_EQ(g.in_reply_to, s.in_reply_to);
  EXPECT_EQ(g.thread_topic, s.thread_topic);
  EXPECT_EQ(g.date, s.date);
  EXPECT_EQ(g.importance, s.importance);
  EXPECT_EQ(g.size, s.size);
  EXPECT_EQ(g.content_type, s.content_type);
  EXPECT_EQ(g.message_class, s.message_class);
  EXPECT_EQ(g.preview, s.preview);
  EXPECT_EQ(g.well_formed, s.well_formed);
  EXPECT_EQ(g.truncated, s.truncated);
  ASSERT_EQ(g.attachments.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(g.attachments[i].filename, s.attachments[i].filename);
    EXPECT_EQ(g.attachments[i].content_type, s.attachments[i].content_type);
    EXPECT_EQ(g.attachments[i].content_id, s.attachments[i].content_id);
    EXPECT_EQ(g.attachments[i].size, s.attachments[i].size);
    EXPECT_EQ(g.attachments[i].is_inline, s.attachments[i].is_inline);
    EXPECT_EQ(g.attachments[i].part_path, s.attachments[i].part_path);
  }
}

// --- change feed -------------------------------------------------------------------

TEST_P(MailStoreConformance, SubscriptionsFireAfterCommitAndStopWhenDestroyed) {
  MailboxId a = mailbox("alice");
  Folder inbox = folder(a, FolderType::inbox);
  Folder sent = folder(a, FolderType::sent_items);
  std::mutex mutex;
  std::vector<std::pair<FolderId, Seq>> seen;
  auto sub = store_->subscribe(inbox.id, [&](FolderId f, Seq s) {
    std::lock_guard lock(mutex);
    seen.emplace_back(f, s);
  });
  std::atomic<int> sent_calls{0};
  auto sent_sub = store_->subscribe(sent.id, [&](FolderId, Seq) { ++sent_calls; });

  ItemId one = deliverOne(a, "one");
  // deliverSync returns after the callback, which runs after the commit.
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], std::make_pair(inbox.id, Seq{1}));
  }
  // What the notification announced is readable.
  auto log = allChanges(inbox.id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].item, one);

  ASSERT_TRUE(store_->setRead(one, true));
  ASSERT_TRUE(store_->moveItem(one, sent.id));
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[1].second, 2);
    EXPECT_EQ(seen[2].second, 3);
  }
  EXPECT_EQ(sent_calls.load(), 1);

  sub.reset();
  deliverOne(a, "two");
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(seen.size(), 3u);
  }
}

TEST_P(MailStoreConformance, SubscriptionDestroyedDuringDeliveriesIsSafe) {
  MailboxId a = mailbox("alice");
  Folder inbox = folder(a, FolderType::inbox);
  std::atomic<bool> stop{false};
  std::thread deliverer([&] {
    for (int i = 0; !stop && i < 200; ++i) deliverOne(a, "m" + std::to_string(i));
  });
  for (int i = 0; i < 200; ++i) {
    auto counter = std::make_shared<int>(0);
    auto sub = store_->subscribe(inbox.id, [counter](FolderId, Seq) { ++*counter; });
    std::this_thread::yield();
    sub.reset();  // must not race a running callback (ASan/TSan would notice)
  }
  stop = true;
  deliverer.join();
}

TEST_P(MailStoreConformance, SubscriptionMayOutliveStore) {
  MailboxId a = mailbox("alice");
  int calls = 0;
  auto sub = store_->subscribe(folder(a, FolderType::inbox).id, [&](FolderId, Seq) { ++calls; });
  deliverOne(a, "one");
  store_.reset();
  sub.reset();
  EXPECT_EQ(calls, 1);
}

// --- durability ----------------------------------------------------------------------

// --- automatic replies (RFC 3834 3.1.1) ------------------------------------------

TEST_P(MailStoreConformance, AutoReplyClaimedOncePerPeriodPerSender) {
  MailboxId a = mailbox("alice");
  MailboxId b = mailbox("bob");
  constexpr std::int64_t kWeek = 7 * 86400;
  EXPECT_TRUE(*store_->claimAutoReply(a, "Carol@Example.net", 1000, kWeek));
  // Same sender in any case, within the period: no second reply.
  EXPECT_FALSE(*store_->claimAutoReply(a, "carol@example.NET", 1000 + kWeek - 1, kWeek));
  // Another sender, or another owner, is its own pair.
  EXPECT_TRUE(*store_->claimAutoReply(a, "dave@example.net", 1001, kWeek));
  EXPECT_TRUE(*store_->claimAutoReply(b, "carol@example.net", 1002, kWeek));
  // Once the period is over, one more.
  EXPECT_TRUE(*store_->claimAutoReply(a, "carol@example.net", 1000 + kWeek, kWeek));
  EXPECT_FALSE(*store_->claimAutoReply(a, "carol@example.net", 1000 + kWeek + 5, kWeek));
  // Durable.
  reopen();
  EXPECT_FALSE(*store_->claimAutoReply(a, "carol@example.net", 1000 + kWeek + 6, kWeek));
  // Turning Out of Office off forgets whom it answered.
  OofSettings off;
  ASSERT_TRUE(store_->setOof(a, off));
  EXPECT_TRUE(*store_->claimAutoReply(a, "carol@example.net", 1000 + kWeek + 7, kWeek));
  auto unknown = store_->claimAutoReply(9999, "carol@example.net", 1, kWeek);
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(Errc::not_found));
}

TEST_P(MailStoreConformance, AutoReplyConcurrentClaimsWinOnce) {
  MailboxId a = mailbox("alice");
  std::vector<std::thread> threads;
  std::atomic<int> won{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = store_->claimAutoReply(a, "carol@example.net", 5000, 86400);
      if (r && *r) ++won;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
}

TEST_P(MailStoreConformance, ReopenSeesEverything) {
  MailboxId a = mailbox("alice");
  auto projects = store_->createFolder(a, std::nullopt, "Projects", FolderType::user_mail);
  ASSERT_TRUE(projects);
  ItemId one = deliverOne(a, "one", 10);
  ItemId two = deliverOne(a, "two", 20);
  ASSERT_TRUE(store_->setFlag(two, FlagStatus::active));
  auto moved = store_->moveItem(one, projects->id);
  ASSERT_TRUE(moved);
  Seq hierarchy = *store_->folderHierarchySeq(a);

  reopen();
  EXPECT_EQ(*store_->openMailbox("alice"), a);
  EXPECT_EQ(store_->listFolders(a)->size(), 6u);
  EXPECT_EQ(*store_->folderHierarchySeq(a), hierarchy);
  EXPECT_EQ(*store_->messageBytes(*moved), sampleMessage("one"));
  EXPECT_EQ(store_->getItem(two)->flag, FlagStatus::active);
  EXPECT_EQ(store_->getFolder(projects->id)->last_seq, 1);
  EXPECT_EQ(allChanges(folder(a, FolderType::inbox).id).size(), 4u);
  // Sequences continue where they were.
  ItemId three = deliverOne(a, "three");
  auto log = allChanges(folder(a, FolderType::inbox).id, 4);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].seq, 5);
  EXPECT_EQ(log[0].item, three);
}

TEST_P(MailStoreConformance, DestructionCompletesQueuedDeliveries) {
  MailboxId a = mailbox("alice");
  constexpr int kCount = 30;
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < kCount; ++i) {
    store_->deliver(makeDelivery(sampleMessage("q" + std::to_string(i)), i, {toInbox(a)}),
                    [&](Result<DeliveryReceipt> r) { (r ? ok : failed)++; });
  }
  store_.reset();
  // Every callback ran exactly once, none dropped.
  EXPECT_EQ(ok.load() + failed.load(), kCount);
  reopen();
  EXPECT_EQ(*store_->countItems(folder(a, FolderType::inbox).id, 0),
            static_cast<std::size_t>(ok.load()));
}

std::string crashMessage(std::uint64_t i) {
  // Large enough to span several pages, so a torn write would show.
  return sampleMessage("crash-" + std::to_string(i), std::string(6000 + i % 977, 'a' + i % 26));
}

TEST_P(MailStoreConformance, AcknowledgedDeliveriesSurviveSigkill) {
  MailboxId a = mailbox("alice");
  FolderId inbox = folder(a, FolderType::inbox).id;
  store_.reset();  // the child opens its own; no store threads across fork()

  constexpr std::uint64_t kTotal = 400;
  std::random_device rd;
  std::uint64_t kill_after = 20 + rd() % 150;

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto s = GetParam().open(dir_.path());
    if (!s) _exit(2);
    // Several writer threads, so the kill can land inside a group commit.
    std::vector<std::thread> threads;
    std::atomic<std::uint64_t> next{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (std::uint64_t i = next++; i < kTotal; i = next++) {
          auto r = (*s)->deliverSync(makeDelivery(crashMessage(i), 1, {toInbox(a)}));
          if (!r) _exit(3);
          std::uint64_t rec[2] = {i, static_cast<std::uint64_t>(r->items[0])};
          if (write(fds[1], rec, sizeof rec) != static_cast<ssize_t>(sizeof rec)) _exit(4);
        }
      });
    }
    for (auto& t : threads) t.join();
    _exit(0);
  }
  close(fds[1]);
  std::vector<std::pair<std::uint64_t, ItemId>> acked;
  std::uint64_t rec[2];
  bool killed = false;
  while (true) {
    ssize_t n = read(fds[0], rec, sizeof rec);
    if (n <= 0) break;
    ASSERT_EQ(n, static_cast<ssize_t>(sizeof rec));
    acked.emplace_back(rec[0], static_cast<ItemId>(rec[1]));
    if (!killed && acked.size() == kill_after) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(killed);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early: " << WEXITSTATUS(status);

  reopen();
  for (auto [index, id] : acked) {
    auto bytes = store_->messageBytes(id);
    ASSERT_TRUE(bytes) << "acknowledged item " << id << " lost";
    EXPECT_EQ(*bytes, crashMessage(index));
  }
  // Whatever else made it is whole: every item's bytes are one of ours, every
  // item is in the log, and the log has nothing else.
  auto items = store_->listItems(inbox, 0, 0, SIZE_MAX);
  ASSERT_TRUE(items);
  EXPECT_GE(items->size(), acked.size());
  std::set<ItemId> present;
  for (const Item& it : *items) {
    present.insert(it.id);
    auto bytes = store_->messageBytes(it.id);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(bytes->rfind("From: Alice", 0), 0u);
    EXPECT_EQ(bytes->substr(bytes->size() - 2), "\r\n");
  }
  auto log = allChanges(inbox);
  EXPECT_EQ(log.size(), items->size());
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq, static_cast<Seq>(i + 1));
    EXPECT_TRUE(present.count(log[i].item));
  }
  // And the store still takes deliveries.
  EXPECT_NE(deliverOne(a, "after"), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, MailStoreConformance,
    ::testing::Values(BackendFactory{
        "sqlite",
        [](const std::filesystem::path& dir) {
          return sqlite::openSqliteMailStore((dir / "mail.db").string(), {});
        }}),
    [](const ::testing::TestParamInfo<BackendFactory>& backend) { return backend.param.name; });

}  // namespace
}  // namespace rampart::store
