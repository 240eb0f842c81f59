#include "server/oof_replier.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <span>

#include "core/base64.h"
#include "core/log.h"
#include "server/smtp/dsn.h"
#include "server/smtp/outbound.h"

namespace rampart::server {

// The header fields of the delivered message that the rules and the reply use.
struct OriginalHeader {
  std::vector<std::string> recipients;  // To, Cc, Bcc, Resent-*: addresses, lower case
  std::string auto_submitted;           // first token, lower case
  std::string precedence;               // lower case, trimmed
  bool list = false;                    // some List-* field
  bool report = false;                  // Content-Type multipart/report
  bool suppressed = false;              // X-Auto-Response-Suppress: OOF or All
  std::string subject;
  std::string message_id;
  std::string references;
  std::string in_reply_to;
};

namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("oof"); }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string> lowerAll(std::vector<std::string> v) {
  for (auto& s : v) s = lower(s);
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The header fields (name, unfolded value), up to the first empty line or
// `max` bytes (RFC 5322 2.2, 2.2.3). Lines without a colon are skipped.
std::vector<std::pair<std::string, std::string>> headerFields(std::string_view message,
                                                              std::size_t max) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t pos = 0;
  const std::size_t end = std::min(message.size(), max);
  while (pos < end) {
    std::size_t lf = message.find('\n', pos);
    std::size_t stop = lf == std::string_view::npos || lf > end ? end : lf;
    std::string_view line = message.substr(pos, stop - pos);
    pos = stop + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      if (!fields.empty()) {
        fields.back().second += ' ';
        fields.back().second += trim(line);
      }
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fields.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return fields;
}

// The addresses in an address-list field value (RFC 5322 3.4), lower case:
// angle-addr contents, or bare addr-specs; display names, comments, quoted
// strings and group names are skipped. Lenient: it only has to find ours.
std::vector<std::string> addressesIn(std::string_view value) {
  std::vector<std::string> out;
  std::string element;
  std::string angle;
  bool in_quote = false, in_angle = false, has_angle = false;
  int comment = 0;
  auto finish = [&] {
    std::string a = has_angle ? angle : std::string(trim(element));
    if (a.find('@') != std::string::npos && a.find(' ') == std::string::npos) out.push_back(lower(a));
    element.clear();
    angle.clear();
    has_angle = false;
  };
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (in_quote) {
      if (c == '\\') ++i;
      else if (c == '"') in_quote = false;
      continue;
    }
    if (comment > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++comment;
      else if (c == ')') --comment;
      continue;
    }
    if (in_angle) {
      if (c == '>') in_angle = false;
      else angle += c;
      continue;
    }
    switch (c) {
      case '"': in_quote = true; break;
      case '(': comment = 1; break;
      case '<': in_angle = true; has_angle = true; angle.clear(); break;
      case ',': case ';': finish(); break;
      case ':': element.clear(); break;  // a group's display name
      default: element += c;
    }
  }
  finish();
  return out;
}

OriginalHeader parseHeader(std::string_view message, std::size_t max) {
  OriginalHeader h;
  for (auto& [name, value] : headerFields(message, max)) {
    if (name == "to" || name == "cc" || name == "bcc" || name == "resent-to" || name == "resent-cc" ||
        name == "resent-bcc") {
      for (auto& a : addressesIn(value)) h.recipients.push_back(std::move(a));
    } else if (name == "auto-submitted") {
      // RFC 3834 5: auto-submitted-field = "Auto-Submitted:" [CFWS]
      // auto-submitted *( [CFWS] ";" auto-sub-param ) [CFWS]
      std::string_view v = value;
      v = trim(v.substr(0, std::min(v.find(';'), v.find('('))));
      h.auto_submitted = lower(v);
    } else if (name == "precedence") {
      h.precedence = lower(trim(value));
    } else if (startsWith(name, "list-")) {
      h.list = true;
    } else if (name == "content-type") {
      h.report = startsWith(lower(trim(value)), "multipart/report");
    } else if (name == "x-auto-response-suppress") {
      std::string v = lower(value);
      h.suppressed = v.find("oof") != std::string::npos || v.find("all") != std::string::npos;
    } else if (name == "subject") {
      h.subject = value;
    } else if (name == "message-id") {
      h.message_id = value;
    } else if (name == "references") {
      h.references = value;
    } else if (name == "in-reply-to") {
      h.in_reply_to = value;
    }
  }
  return h;
}

// A msg-id we can copy into a header: "<...>" without spaces or controls.
bool usableMessageId(std::string_view id) {
  if (id.size() < 3 || id.size() > 900 || id.front() != '<' || id.back() != '>') return false;
  return std::none_of(id.begin(), id.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

// The msg-ids of a References/In-Reply-To value, in order.
std::vector<std::string> messageIds(std::string_view value) {
  std::vector<std::string> ids;
  std::size_t pos = 0;
  while ((pos = value.find('<', pos)) != std::string_view::npos) {
    auto close = value.find('>', pos);
    if (close == std::string_view::npos) break;
    std::string_view id = value.substr(pos, close - pos + 1);
    if (usableMessageId(id)) ids.emplace_back(id);
    pos = close + 1;
  }
  return ids;
}

std::string oneLine(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

// A display name as a phrase: a quoted-string when ASCII, else an RFC 2047
// encoded word.
std::string displayPhrase(std::string_view name) {
  std::string n = oneLine(name);
  bool ascii = std::all_of(n.begin(), n.end(), [](unsigned char c) { return c < 0x80; });
  if (!ascii) return "=?utf-8?b?" + base64Encode(n) + "?=";
  std::string out = "\"";
  for (char c : n) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The body with CRLF line ends.
std::string crlf(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 32);
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

std::string domainOf(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : lower(address.substr(at + 1));
}

bool isDaemonOrList(std::string_view sender) {
  auto at = sender.rfind('@');
  std::string local = lower(sender.substr(0, at));
  return local == "mailer-daemon" || local == "listserv" || local == "majordomo" ||
         startsWith(local, "owner-") || endsWith(local, "-request") || endsWith(local, "-owner");
}

bool oofActive(const store::OofSettings& oof, std::int64_t now) {
  switch (oof.state) {
    case store::OofState::global: return true;
    case store::OofState::time_based: return oof.start_time <= now && now < oof.end_time;
    case store::OofState::disabled: break;
  }
  return false;
}

// Submits one reply; a plain coroutine over lvalue parameters (docs/decisions/0002).
net::Task<void> submitReply(smtp::Outbound& outbound, std::string to,
                            std::shared_ptr<const std::string> bytes) {
  std::string sender;  // RFC 3834 3.3: MAIL FROM:<>
  std::vector<std::string> recipients{to};
  Result<smtp::SubmitResult> sent = co_await outbound.submit(sender, recipients, bytes);
  if (sent) {
    logger()->info("automatic reply to <{}> {}", to,
                   sent->delivered_locally.empty() ? "queued" : "delivered");
  } else {
    logger()->warn("automatic reply to <{}> not sent: {}", to, sent.error().message());
  }
}

}  // namespace

std::string_view toString(AutoReplyOutcome outcome) {
  switch (outcome) {
    case AutoReplyOutcome::sent: return "sent";
    case AutoReplyOutcome::null_sender: return "null sender";
    case AutoReplyOutcome::daemon_sender: return "daemon or list sender";
    case AutoReplyOutcome::auto_submitted: return "Auto-Submitted";
    case AutoReplyOutcome::bulk: return "Precedence bulk/list/junk";
    case AutoReplyOutcome::mailing_list: return "List-* field";
    case AutoReplyOutcome::report: return "multipart/report";
    case AutoReplyOutcome::suppressed: return "X-Auto-Response-Suppress";
    case AutoReplyOutcome::oof_off: return "Out of Office off";
    case AutoReplyOutcome::own_address: return "own address";
    case AutoReplyOutcome::not_addressed: return "not in To/Cc";
    case AutoReplyOutcome::audience_disabled: return "no reply for this audience";
    case AutoReplyOutcome::already_replied: return "already replied this period";
    case AutoReplyOutcome::error: return "error";
  }
  return "?";
}

std::string buildAutoReply(const AutoReplyMessage& m) {
  std::string subject = oneLine(m.original_subject);
  // One header line stays under RFC 5322 2.1.1's 998 characters.
  if (subject.size() > 900) {
    auto cut = subject.rfind(' ', 900);
    subject.resize(cut == std::string::npos || cut < 600 ? 900 : cut);
  }
  const std::string domain = domainOf(m.from_address);
  std::string r;
  r += "From: ";
  if (!m.from_display_name.empty()) r += displayPhrase(m.from_display_name) + " ";
  r += "<" + oneLine(m.from_address) + ">\r\n";
  r += "To: <" + oneLine(m.to) + ">\r\n";
  r += subject.empty() ? std::string("Subject: Automatic reply\r\n")
                       : "Subject: Automatic reply: " + subject + "\r\n";
  r += "Date: " + smtp::rfc5322Date(m.now) + "\r\n";
  r += "Message-ID: <oof." + m.unique + "@" + (domain.empty() ? "localhost" : domain) + ">\r\n";
  if (usableMessageId(m.original_message_id)) {
    // RFC 5322 3.6.4: the parent's References (bounded), then its msg-id.
    auto refs = messageIds(m.original_references);
    constexpr std::size_t kMaxReferences = 20;
    if (refs.size() >= kMaxReferences) refs.erase(refs.begin(), refs.end() - (kMaxReferences - 1));
    refs.push_back(m.original_message_id);
    r += "In-Reply-To: " + m.original_message_id + "\r\n";
    r += "References:";
    for (const auto& id : refs) r += " " + id + "\r\n";
    r.resize(r.size() - 2);
    r += "\r\n";
  }
  // RFC 3834 5: an automatic reply, so that other responders do not answer it.
  r += "Auto-Submitted: auto-replied\r\n";
  r += "X-Auto-Response-Suppress: All\r\n";
  r += "MIME-Version: 1.0\r\n";
  r += std::string("Content-Type: ") + (m.html ? "text/html" : "text/plain") + "; charset=utf-8\r\n";
  r += "Content-Transfer-Encoding: base64\r\n";
  r += "\r\n";
  r += base64Encode(crlf(m.body), 76);  // RFC 2045 6.8: lines of 76
  return r;
}

AutoReplier::AutoReplier(std::shared_ptr<store::MailStore> store,
                         std::shared_ptr<directory::Directory> directory,
                         std::vector<std::string> local_domains, Send send, Clock& clock,
                         Random& random, AutoReplyOptions options)
    : store_(std::move(store)),
      directory_(std::move(directory)),
      local_domains_(lowerAll(std::move(local_domains))),
      send_(std::move(send)),
      clock_(clock),
      random_(random),
      options_(options),
      worker_([this] { run(); }) {}

AutoReplier::~AutoReplier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  worker_.join();
}

void AutoReplier::enqueue(const DeliveredMessage& delivered) {
  // A null sender is never answered: skip the copy and the queue.
  if (delivered.envelope_sender.empty()) return;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (queue_.size() >= options_.max_pending) {
      logger()->warn("{} deliveries waiting: no automatic reply to <{}>", queue_.size(),
                     delivered.envelope_sender);
      return;
    }
    queue_.push_back(delivered);
  }
  cv_.notify_all();
}

LocalDelivery::DeliveredHook AutoReplier::hook(std::shared_ptr<AutoReplier> replier) {
  return [replier = std::move(replier)](const DeliveredMessage& delivered) { replier->enqueue(delivered); };
}

void AutoReplier::drain() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return stopping_ || (queue_.empty() && !busy_); });
}

void AutoReplier::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    DeliveredMessage next = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    process(next);
    lock.lock();
    busy_ = false;
    cv_.notify_all();  // drain()
  }
}

std::vector<AutoReplyOutcome> AutoReplier::process(const DeliveredMessage& delivered) {
  const std::string& sender = delivered.envelope_sender;
  auto all = [&](AutoReplyOutcome o) { return std::vector<AutoReplyOutcome>(delivered.users.size(), o); };
  // Message-wide rules first: they hold for every recipient.
  if (sender.empty() || sender.size() > 254 || sender.find('@') == std::string::npos ||
      sender.find_first_of(" \t\r\n<>") != std::string::npos || !delivered.bytes) {
    return all(AutoReplyOutcome::null_sender);
  }
  if (isDaemonOrList(sender)) return all(AutoReplyOutcome::daemon_sender);
  const OriginalHeader header = parseHeader(*delivered.bytes, options_.max_header_bytes);
  if (!header.auto_submitted.empty() && header.auto_submitted != "no") {
    return all(AutoReplyOutcome::auto_submitted);
  }
  if (header.precedence == "bulk" || header.precedence == "list" || header.precedence == "junk") {
    return all(AutoReplyOutcome::bulk);
  }
  if (header.list) return all(AutoReplyOutcome::mailing_list);
  if (header.report) return all(AutoReplyOutcome::report);
  if (header.suppressed) return all(AutoReplyOutcome::suppressed);

  const std::int64_t now = unixSeconds(clock_.now());
  std::vector<AutoReplyOutcome> outcomes;
  for (const std::string& user : delivered.users) {
    AutoReplyOutcome o = processUser(user, delivered, header, now);
    if (o == AutoReplyOutcome::sent) {
      logger()->info("{}: automatic reply to <{}>", user, sender);
    } else {
      logger()->debug("{}: no automatic reply to <{}>: {}", user, sender, toString(o));
    }
    outcomes.push_back(o);
  }
  return outcomes;
}

AutoReplyOutcome AutoReplier::processUser(const std::string& user, const DeliveredMessage& delivered,
                                          const OriginalHeader& header, std::int64_t now) {
  const std::string& sender = delivered.envelope_sender;
  auto failed = [&](std::string_view what, const Error& e) {
    logger()->warn("{}: no automatic reply to <{}>: {}: {}", user, sender, what, e.message());
    return AutoReplyOutcome::error;
  };
  auto mailbox = store_->findMailbox(user);
  if (!mailbox) return failed("mailbox", mailbox.error());
  if (!*mailbox) return AutoReplyOutcome::oof_off;
  auto oof = store_->getOof(**mailbox);
  if (!oof) return failed("Out of Office settings", oof.error());
  if (!oofActive(*oof, now)) return AutoReplyOutcome::oof_off;

  auto found = directory_->findUser(user);
  if (!found) return failed("directory", found.error());
  if (!*found || (*found)->addresses.empty()) return AutoReplyOutcome::oof_off;
  const directory::User& u = **found;
  const std::string from = lower(sender);
  auto own = [&](const std::string& address) {
    return std::any_of(u.addresses.begin(), u.addresses.end(),
                       [&](const std::string& a) { return lower(a) == address; });
  };
  if (own(from)) return AutoReplyOutcome::own_address;
  if (std::none_of(header.recipients.begin(), header.recipients.end(), own)) {
    return AutoReplyOutcome::not_addressed;
  }

  const store::OofReply* reply = nullptr;
  const std::string domain = domainOf(from);
  const bool internal = local_domains_.empty() ||
                        std::find(local_domains_.begin(), local_domains_.end(), domain) != local_domains_.end();
  if (internal) {
    reply = &oof->internal;
  } else if (oof->external_known == oof->external_unknown) {
    reply = &oof->external_unknown;  // the same either way: skip the Sent Items scan
  } else {
    auto audience = audienceOf(**mailbox, from);
    if (!audience) return failed("Sent Items", audience.error());
    reply = *audience == Audience::external_known ? &oof->external_known : &oof->external_unknown;
  }
  if (!reply->enabled) return AutoReplyOutcome::audience_disabled;

  auto claimed = store_->claimAutoReply(**mailbox, from, now, options_.period.count());
  if (!claimed) return failed("reply record", claimed.error());
  if (!*claimed) return AutoReplyOutcome::already_replied;

  AutoReplyMessage m;
  m.from_address = u.addresses.front();
  m.from_display_name = u.display_name;
  m.to = sender;
  m.original_subject = header.subject;
  m.original_message_id = std::string(trim(header.message_id));
  m.original_references = header.references.empty() ? header.in_reply_to : header.references;
  m.body = reply->message;
  m.html = reply->html;
  m.now = clock_.now();
  std::array<std::uint8_t, 12> raw{};
  random_.fill(raw);
  m.unique = hex(raw);
  send_(sender, std::make_shared<const std::string>(buildAutoReply(m)));
  return AutoReplyOutcome::sent;
}

Result<Audience> AutoReplier::audienceOf(store::MailboxId mailbox, const std::string& sender) {
  auto sent = store_->folderOfType(mailbox, store::FolderType::sent_items);
  if (!sent) return fail(sent.error());
  auto items = store_->listItems(sent->id, 0, 0, options_.max_sent_items_scanned);
  if (!items) return fail(items.error());
  for (const store::Item& item : *items) {
    for (const std::string* field : {&item.summary.to, &item.summary.cc}) {
      auto addresses = addressesIn(*field);
      if (std::find(addresses.begin(), addresses.end(), sender) != addresses.end()) {
        return Audience::external_known;
      }
    }
  }
  return Audience::external_unknown;
}

AutoReplier::Send sendThroughOutbound(net::asio::any_io_executor io, smtp::Outbound& outbound) {
  return [io, &outbound](const std::string& recipient, std::shared_ptr<const std::string> message) {
    std::string to = recipient;
    net::asio::co_spawn(io, submitReply(outbound, to, message), net::asio::detached);
  };
}

}  // namespace rampart::server
