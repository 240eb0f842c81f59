// The device Client against a scripted EAS server on loopback (plain HTTP,
// http::Server): the protocol's recoveries (HTTP 401/449/503, Status 142,
// remote wipe, Ping Status 5), the Sync MoreAvailable loop, ItemOperations'
// fallback to Sync Fetch, MoveItems keeping the local id. The script answers
// with WBXML made from XML by wbxml::parseXml; requests are kept as XML.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "codec/eas/request_line.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/writer.h"
#include "codec/wbxml/xml.h"
#include "device/client.h"
#include "http/server.h"
#include "testing/temp_dir.h"

namespace rampart::device {
namespace {

namespace asio = net::asio;
using http::Request;
using http::Response;

struct Seen {
  std::string command;
  std::string xml;
  std::string policy_key;  // X-MS-PolicyKey
  std::string version;     // MS-ASProtocolVersion
  std::string authorization;
};

class FakeEas {
 public:
  // (command, request XML, call number of that command) -> response.
  using Script = std::function<Response(const std::string& cmd, const std::string& xml, int n)>;

  explicit FakeEas(Script script) : script_(std::move(script)) {
    auto server = http::Server::bind(io_.get_executor(),
                                     net::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), {},
                                     [this](Request& r) { return handle(r); });
    EXPECT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeEas() {
    asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->localEndpoint().port());
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::vector<Seen> seen(const std::string& command) {
    std::vector<Seen> out;
    for (auto& s : seen()) {
      if (s.command == command) out.push_back(s);
    }
    return out;
  }

  static Response wbxml(const std::string& xml) {
    Response res{http::Status::ok, 11};
    auto doc = wbxml::parseXml(xml);
    EXPECT_TRUE(doc) << doc.error().message() << "\n" << xml;
    auto bytes = wbxml::encode(*doc);
    EXPECT_TRUE(bytes);
    res.set(http::Field::content_type, "application/vnd.ms-sync.wbxml");
    res.body().assign(bytes->begin(), bytes->end());
    res.prepare_payload();
    return res;
  }
  static Response status(http::Status s, std::string_view retry_after = {}) {
    Response res{s, 11};
    if (!retry_after.empty()) res.set(http::Field::retry_after, retry_after);
    res.prepare_payload();
    return res;
  }

 private:
  net::Task<Response> handle(Request& req) {
    Response res = respond(req);
    co_return res;
  }

  Response respond(Request& req) {
    if (req.method() == http::Verb::options) {
      Response res{http::Status::ok, 11};
      res.set("MS-ASProtocolVersions", versions_);
      res.set("MS-ASProtocolCommands",
              "Sync,FolderSync,Provision,Ping,ItemOperations,MoveItems,SendMail");
      res.prepare_payload();
      return res;
    }
    auto line = eas::decodeRequestTarget(req.target());
    EXPECT_TRUE(line) << req.target();
    if (!line) return status(http::Status::bad_request);
    Seen s;
    s.command = line->command;
    s.policy_key = std::string(req["X-MS-PolicyKey"]);
    s.version = std::string(req["MS-ASProtocolVersion"]);
    s.authorization = std::string(req[http::Field::authorization]);
    const std::string& body = req.body();
    if (!body.empty()) {
      auto doc =
          wbxml::decode(std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
      EXPECT_TRUE(doc);
      if (doc) s.xml = wbxml::toXml(*doc);
    }
    int n = 0;
    {
      std::lock_guard lock(mutex_);
      n = ++calls_[s.command];
      seen_.push_back(s);
    }
    return script_(s.command, s.xml, n);
  }

 public:
  std::string versions_ = "2.5,12.0,12.1,14.0,14.1,16.0,16.1";

 private:
  Script script_;
  asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Seen> seen_;
  std::map<std::string, int> calls_;
};

bool has(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// Provision: phase 1 gives temporary key 111, the acknowledgment of 111 the final key 222.
Response provisionAnswer(const std::string& xml) {
  if (has(xml, "<RemoteWipe>")) {
    return FakeEas::wbxml(
        R"(<Provision xmlns="Provision:"><Status>1</Status><RemoteWipe/></Provision>)");
  }
  std::string key = has(xml, "<PolicyKey>111</PolicyKey>") ? "222" : "111";
  return FakeEas::wbxml(R"(<Provision xmlns="Provision:"><Status>1</Status><Policies><Policy>
      <PolicyType>MS-EAS-Provisioning-WBXML</PolicyType><Status>1</Status><PolicyKey>)" +
                        key + R"(</PolicyKey></Policy></Policies></Provision>)");
}

Response folderSyncAnswer() {
  return FakeEas::wbxml(
      R"(<FolderSync xmlns="FolderHierarchy:"><Status>1</Status><SyncKey>h1</SyncKey>
    <Changes><Count>2</Count>
    <Add><ServerId>in</ServerId><ParentId>0</ParentId><DisplayName>Inbox</DisplayName><Type>2</Type></Add>
    <Add><ServerId>arch</ServerId><ParentId>0</ParentId><DisplayName>Archive</DisplayName><Type>12</Type></Add>
    </Changes></FolderSync>)");
}

std::string addXml(const std::string& id, const std::string& subject) {
  return "<Add><ServerId>" + id +
         "</ServerId><ApplicationData><email:From>bob@example.test</email:From>"
         "<email:Subject>" +
         subject +
         "</email:Subject><email:DateReceived>2026-11-24T12:00:00.000Z"
         "</email:DateReceived><email:Read>0</email:Read></ApplicationData></Add>";
}

Response syncAnswer(const std::string& key, const std::string& commands, bool more = false,
                    const std::string& responses = "") {
  return FakeEas::wbxml(
      R"(<Sync xmlns="AirSync:" xmlns:email="Email:" xmlns:airsyncbase="AirSyncBase:">
      <Collections><Collection><SyncKey>)" +
      key + R"(</SyncKey><CollectionId>in</CollectionId>
      <Status>1</Status>)" +
      (more ? "<MoreAvailable/>" : "") +
      (commands.empty() ? "" : "<Commands>" + commands + "</Commands>") +
      (responses.empty() ? "" : "<Responses>" + responses + "</Responses>") +
      "</Collection></Collections></Sync>");
}

// A server with two pages of mail (MoreAvailable), then quiet.
Response standard(const std::string& cmd, const std::string& xml, int /*n*/) {
  if (cmd == "Provision") return provisionAnswer(xml);
  if (cmd == "FolderSync") return folderSyncAnswer();
  if (cmd == "Sync") {
    if (has(xml, "<SyncKey>0</SyncKey>")) return syncAnswer("s1", "");
    if (has(xml, "<SyncKey>s1</SyncKey>"))
      return syncAnswer("s2", addXml("in:1", "one") + addXml("in:2", "two"), true);
    if (has(xml, "<SyncKey>s2</SyncKey>")) return syncAnswer("s3", addXml("in:3", "three"));
    Response empty{http::Status::ok, 11};
    empty.prepare_payload();
    return empty;
  }
  return FakeEas::status(http::Status::not_implemented);
}

class DeviceClientTest : public ::testing::Test {
 protected:
  Result<SetupReport> setup(FakeEas& server, const std::string& max_version = "16.1") {
    SetupOptions o;
    o.url = server.url();
    o.user = "alice";
    o.password = "pw";
    o.device_id = "DEV1";
    o.max_version = max_version;
    return Client::setup(path_, o);
  }
  testing::TempDir tmp_{"device-client"};
  std::string path_ = tmp_.file("state.db");
};

TEST_F(DeviceClientTest, SetupProvisionsInTwoPhasesAndSyncsPages) {
  FakeEas server(standard);
  auto report = setup(server);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->version, "16.1");
  EXPECT_EQ(report->folders, 2u);

  auto provisions = server.seen("Provision");
  ASSERT_EQ(provisions.size(), 2u);
  EXPECT_TRUE(has(provisions[0].xml, "<DeviceInformation")) << provisions[0].xml;
  EXPECT_TRUE(has(provisions[0].xml, "<PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>"));
  EXPECT_TRUE(provisions[0].policy_key.empty());
  EXPECT_TRUE(has(provisions[1].xml, "<PolicyKey>111</PolicyKey>")) << provisions[1].xml;
  EXPECT_TRUE(has(provisions[1].xml, "<Status>1</Status>"));
  auto fs = server.seen("FolderSync");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].policy_key, "222");
  EXPECT_EQ(fs[0].version, "16.1");
  EXPECT_EQ(fs[0].authorization, basicAuth("alice", "pw"));

  auto client = Client::open(path_);
  ASSERT_TRUE(client) << client.error().message();
  auto r = client->sync("inbox");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->added.size(), 3u) << "both MoreAvailable pages";
  auto syncs = server.seen("Sync");
  ASSERT_EQ(syncs.size(), 3u);
  EXPECT_TRUE(has(syncs[1].xml, "<WindowSize>512</WindowSize>")) << syncs[1].xml;
  auto items = client->list("Inbox");
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[0].subject, "one");
  EXPECT_EQ((*items)[0].id, 1);
  EXPECT_FALSE((*items)[0].read);

  // Nothing new: an empty response, the key stays.
  r = client->sync("Inbox");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->added.empty());
  EXPECT_TRUE(has(server.seen("Sync").back().xml, "<SyncKey>s3</SyncKey>"));

  EXPECT_FALSE(client->sync("Nope"));
}

TEST_F(DeviceClientTest, ChoosesTheServersHighestVersion) {
  FakeEas server(standard);
  server.versions_ = "12.1,14.0,14.1";
  auto report = setup(server);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->version, "14.1");
}

TEST_F(DeviceClientTest, UnauthorizedIsAuthenticationFailed) {
  // OPTIONS succeeds in the fake; Provision says 401.
  FakeEas refusing([](const std::string&, const std::string&, int) {
    return FakeEas::status(http::Status::unauthorized);
  });
  auto report = setup(refusing);
  ASSERT_FALSE(report);
  EXPECT_TRUE(report.error().is(Errc::unauthenticated));
  EXPECT_EQ(report.error().detail, "authentication failed");
}

TEST_F(DeviceClientTest, ReprovisionsOn142And449AndWaitsOn503And111) {
  int sync_calls = 0;
  FakeEas server([&](const std::string& cmd, const std::string& xml, int n) {
    if (cmd == "Sync") {
      ++sync_calls;
      if (sync_calls == 1)
        return FakeEas::wbxml(R"(<Sync xmlns="AirSync:"><Status>142</Status></Sync>)");
      if (sync_calls == 2) return FakeEas::status(http::Status(449));
      if (sync_calls == 3) return FakeEas::status(http::Status::service_unavailable, "1");
      if (sync_calls == 4) {
        Response res = FakeEas::wbxml(R"(<Sync xmlns="AirSync:"><Status>111</Status></Sync>)");
        res.set(http::Field::retry_after, "1");
        return res;
      }
    }
    return standard(cmd, xml, n);
  });
  ASSERT_TRUE(setup(server));
  auto client = Client::open(path_);
  ASSERT_TRUE(client);
  auto start = std::chrono::steady_clock::now();
  auto r = client->sync("Inbox");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900))
      << "Retry-After: 1";
  EXPECT_EQ(r->added.size(), 3u);
  // Setup's two Provisions, then two more for the 142 and two for the 449.
  EXPECT_EQ(server.seen("Provision").size(), 6u);
}

TEST_F(DeviceClientTest, RemoteWipeIsAcknowledgedAndErasesTheState) {
  bool wipe = false;
  FakeEas server([&](const std::string& cmd, const std::string& xml, int n) {
    if (cmd == "Provision" && wipe && !has(xml, "<RemoteWipe>")) {
      return FakeEas::wbxml(
          R"(<Provision xmlns="Provision:"><Status>1</Status><RemoteWipe/></Provision>)");
    }
    if (cmd == "Sync" && wipe)
      return FakeEas::wbxml(R"(<Sync xmlns="AirSync:"><Status>142</Status></Sync>)");
    return standard(cmd, xml, n);
  });
  ASSERT_TRUE(setup(server));
  wipe = true;
  {
    auto client = Client::open(path_);
    ASSERT_TRUE(client);
    auto r = client->sync("Inbox");
    ASSERT_FALSE(r);
    EXPECT_TRUE(isWiped(r.error())) << r.error().message();
  }
  auto provisions = server.seen("Provision");
  ASSERT_GE(provisions.size(), 2u);
  EXPECT_TRUE(has(provisions.back().xml, "<RemoteWipe>") &&
              has(provisions.back().xml, "<Status>1</Status>"))
      << provisions.back().xml;
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(DeviceClientTest, ReadFallsBackToSyncFetchAndMarksRead) {
  FakeEas server([](const std::string& cmd, const std::string& xml, int n) {
    if (cmd == "Sync" && has(xml, "<Fetch>")) {
      return syncAnswer("s4", "", false,
                        "<Fetch><ServerId>in:2</ServerId><Status>1</Status><ApplicationData>"
                        "<email:To>alice@example.test</"
                        "email:To><airsyncbase:Body><airsyncbase:Type>1</airsyncbase:Type>"
                        "<airsyncbase:Data>the "
                        "body</airsyncbase:Data></airsyncbase:Body></ApplicationData></Fetch>");
    }
    if (cmd == "Sync" && has(xml, "<SyncKey>s4</SyncKey>") && has(xml, "<Change>")) {
      return syncAnswer("s5", "");
    }
    return standard(cmd, xml, n);
  });
  ASSERT_TRUE(setup(server));
  auto client = Client::open(path_);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->sync("Inbox"));
  auto m = client->read(2);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->body, "the body");
  EXPECT_EQ(m->item.subject, "two");
  EXPECT_EQ(m->to, "alice@example.test");
  EXPECT_TRUE(m->item.read);
  EXPECT_EQ(server.seen("ItemOperations").size(), 1u) << "tried first";
  auto last = server.seen("Sync").back().xml;
  EXPECT_TRUE(has(last, "<ServerId>in:2</ServerId>") &&
              has(last, "<Read xmlns=\"Email:\">1</Read>"))
      << last;
  auto item = client->list("Inbox");
  ASSERT_TRUE(item);
  EXPECT_TRUE((*item)[1].read);
}

TEST_F(DeviceClientTest, MoveKeepsTheLocalId) {
  FakeEas server([](const std::string& cmd, const std::string& xml, int n) {
    if (cmd == "MoveItems") {
      EXPECT_TRUE(has(xml, "<SrcMsgId>in:1</SrcMsgId>") && has(xml, "<DstFldId>arch</DstFldId>"))
          << xml;
      return FakeEas::wbxml(
          R"(<MoveItems xmlns="Move:"><Response><SrcMsgId>in:1</SrcMsgId><Status>3</Status>
          <DstMsgId>arch:7</DstMsgId></Response></MoveItems>)");
    }
    return standard(cmd, xml, n);
  });
  ASSERT_TRUE(setup(server));
  auto client = Client::open(path_);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->sync("Inbox"));
  auto st = client->move(1, "archive");
  ASSERT_TRUE(st) << st.error().message();
  auto archived = client->list("Archive");
  ASSERT_TRUE(archived);
  ASSERT_EQ(archived->size(), 1u);
  EXPECT_EQ((*archived)[0].id, 1);
  EXPECT_EQ((*archived)[0].server_id, "arch:7");
}

TEST_F(DeviceClientTest, WatchAdjustsTheHeartbeatAndReportsNewMail) {
  FakeEas server([](const std::string& cmd, const std::string& xml, int n) {
    if (cmd == "Ping") {
      if (!has(xml, "<HeartbeatInterval>60</HeartbeatInterval>")) {
        return FakeEas::wbxml(
            R"(<Ping xmlns="Ping:"><Status>5</Status><HeartbeatInterval>60</HeartbeatInterval></Ping>)");
      }
      if (n == 2) return FakeEas::wbxml(R"(<Ping xmlns="Ping:"><Status>1</Status></Ping>)");
      return FakeEas::wbxml(
          R"(<Ping xmlns="Ping:"><Status>2</Status><Folders><Folder>in</Folder></Folders></Ping>)");
    }
    if (cmd == "Sync" && has(xml, "<SyncKey>s3</SyncKey>"))
      return syncAnswer("s4", addXml("in:9", "pushed"));
    return standard(cmd, xml, n);
  });
  ASSERT_TRUE(setup(server));
  auto client = Client::open(path_);
  ASSERT_TRUE(client);
  WatchOptions o;
  o.heartbeat = 30;
  o.count = 1;
  std::vector<std::string> got;
  auto st = client->watch(o, [&](const SyncReport& r, const LocalItem& item) {
    got.push_back(r.folder_name + " " + item.from + " " + item.subject);
  });
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(got, std::vector<std::string>{"Inbox bob@example.test pushed"})
      << "the first sync's mail is not new";
  EXPECT_EQ(server.seen("Ping").size(), 3u);
}

}  // namespace
}  // namespace rampart::device
