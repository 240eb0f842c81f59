#include "server/smtp/dsn.h"

#include <ctime>

namespace rampart::server::smtp {
namespace {

// The original header: everything up to the first empty line, cut at a line
// boundary when longer than `max`, with CRLF line ends.
std::string originalHeader(std::string_view message, std::size_t max) {
  std::string out;
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t lf = message.find('\n', pos);
    std::string_view line =
        message.substr(pos, lf == std::string_view::npos ? std::string_view::npos : lf - pos);
    pos = lf == std::string_view::npos ? message.size() : lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (out.size() + line.size() + 2 > max) break;
    out.append(line);
    out += "\r\n";
  }
  return out;
}

// Header-field values we build from addresses and replies: one line, printable.
std::string oneLine(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

}  // namespace

std::string rfc5322Date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string statusFor(int reply_code, std::string_view enhanced, bool permanent) {
  char cls = permanent ? '5' : '4';
  if (!enhanced.empty() && enhanced.front() == cls) return std::string(enhanced);
  if (reply_code >= 500) return "5.0.0";
  if (reply_code >= 400) return "4.0.0";
  return std::string(1, cls) + ".0.0";
}

std::string buildBounce(const BounceInput& in) {
  const std::string boundary = "=_rampart_dsn_" + in.unique;
  const std::string mta = oneLine(in.reporting_mta);
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + mta + ">\r\n";
  m += "To: <" + oneLine(in.original_sender) + ">\r\n";
  m += "Subject: Undelivered Mail Returned to Sender\r\n";
  m += "Date: " + rfc5322Date(in.now) + "\r\n";
  m += "Message-ID: <dsn." + in.unique + "@" + mta + ">\r\n";
  // RFC 3834 5: an automatic reply, so that responders do not answer it.
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n"
       "\tboundary=\"" + boundary + "\"\r\n";
  m += "\r\n";
  m += "This is a MIME-encapsulated message.\r\n\r\n";

  // 1. For people (RFC 6522 3: the first part).
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Description: Notification\r\n\r\n";
  m += "This is the mail system at " + mta + ".\r\n\r\n";
  m += "Your message could not be delivered to one or more recipients.\r\n"
       "It is attached below (headers only).\r\n\r\n";
  for (const auto& r : in.recipients) {
    m += "<" + oneLine(r.recipient) + ">: ";
    if (!r.diagnostic.empty()) {
      m += oneLine(r.diagnostic);
    } else {
      m += oneLine(r.reason);
    }
    m += "\r\n";
  }
  m += "\r\n";

  // 2. For machines: RFC 3464 2.2 per-message fields, then 2.3 per recipient,
  //    each group separated by an empty line.
  m += "--" + boundary + "\r\n";
  m += "Content-Type: message/delivery-status\r\n";
  m += "Content-Description: Delivery report\r\n\r\n";
  m += "Reporting-MTA: dns; " + mta + "\r\n";
  m += "Arrival-Date: " + rfc5322Date(in.arrival) + "\r\n";
  for (const auto& r : in.recipients) {
    m += "\r\n";
    m += "Final-Recipient: rfc822; " + oneLine(r.recipient) + "\r\n";
    m += "Action: failed\r\n";
    m += "Status: " + oneLine(r.status) + "\r\n";
    if (!in.remote_mta.empty() && !r.diagnostic.empty()) {
      m += "Remote-MTA: dns; " + oneLine(in.remote_mta) + "\r\n";
    }
    if (!r.diagnostic.empty()) m += "Diagnostic-Code: smtp; " + oneLine(r.diagnostic) + "\r\n";
    m += "Last-Attempt-Date: " + rfc5322Date(in.now) + "\r\n";
  }
  m += "\r\n";

  // 3. What was sent, without the body (RFC 6522 / RFC 3462 text/rfc822-headers).
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/rfc822-headers\r\n";
  m += "Content-Description: Undelivered Message Headers\r\n\r\n";
  m += originalHeader(in.original, in.max_header_bytes);
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

}  // namespace rampart::server::smtp
