// libFuzzer target for SendMail/SmartReply/SmartForward request handling
// (server/eas/send_mail_command.h): byte 0 picks the command and the body
// form, the rest is a WBXML body (14.0+ form) or the raw message (12.1 form).
// Runs against a SQLite mail store in a temporary directory holding one
// message (item ids 1 and up). Every input must give either a mail to send
// or a decodable ComposeMail status response, never an error, crash or hang.
// Seed corpus: fuzz/corpus/eas_send_mail/.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include "codec/eas/request_line.h"
#include "codec/mime/summary.h"
#include "codec/wbxml/reader.h"
#include "core/clock.h"
#include "core/log.h"
#include "server/eas/send_mail_command.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"

namespace {

using namespace rampart;

struct Stores {
  std::unique_ptr<store::MailStore> mail;
  std::unique_ptr<store::DeviceStore> devices;
};

Stores& stores() {
  static Stores s = [] {
    char dir[] = "/tmp/rampart-sendmail-fuzz-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    std::string db = std::string(dir) + "/rampart.db";
    Stores out;
    auto mail = store::sqlite::openSqliteMailStore(db);
    auto devices = store::sqlite::openSqliteDeviceStore(db, systemRandom());
    if (!mail || !devices) std::abort();
    out.mail = std::move(*mail);
    out.devices = std::move(*devices);
    auto mailbox = out.mail->openMailbox("alice");
    if (!mailbox) std::abort();
    const std::string original =
        "From: Bob <bob@example.com>\r\nTo: alice@example.org\r\nSubject: Lunch?\r\n"
        "Message-ID: <orig@example.com>\r\n\r\nShall we?\r\n";
    store::Delivery d;
    d.bytes = std::make_shared<const std::string>(original);
    d.summary = mime::summarize(original);
    d.targets.push_back({*mailbox, std::nullopt, store::FolderType::inbox, false});
    if (!out.mail->deliverSync(std::move(d))) std::abort();
    return out;
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const char* kCommands[] = {"SendMail", "SmartReply", "SmartForward"};
  const char* command = kCommands[data[0] % 3];
  bool raw = (data[0] & 0x10) != 0;
  std::span<const std::uint8_t> rest(data + 1, size - 1);

  Stores& s = stores();
  eas::EasRequest line;
  line.item_id = "1";
  line.save_in_sent = (data[0] & 0x20) != 0;
  server::eas::CommandContext ctx{*s.mail, *s.devices, "alice", "FUZZ", "16.1"};
  ctx.now = 1700000000;
  ctx.address = "alice@example.org";
  ctx.display_name = "Alice";
  ctx.request = &line;

  server::eas::SendMailLimits limits;
  limits.max_message_size = 1 << 20;
  limits.max_recipients = 50;
  Result<server::eas::ComposeOutcome> out;
  if (raw) {
    std::string_view body(reinterpret_cast<const char*>(rest.data()), rest.size());
    out = server::eas::composeOutgoing(ctx, command, nullptr, body, limits);
  } else {
    wbxml::Limits wl;
    wl.max_total = 1 << 20;
    wl.max_elements = 10'000;
    auto doc = wbxml::Reader(wl).read(rest);
    if (!doc) return 0;  // the service answers 102 itself
    out = server::eas::composeOutgoing(ctx, command, &*doc, {}, limits);
  }
  if (!out) std::abort();
  if (out->mail) {
    if (!out->status_response.empty() || !out->mail->bytes || out->mail->recipients.empty() ||
        out->mail->recipients.size() > limits.max_recipients) {
      std::abort();
    }
  } else {
    auto doc = wbxml::decode(out->status_response);
    if (!doc || doc->root.name != command || out->status < 101) std::abort();
  }
  return 0;
}
