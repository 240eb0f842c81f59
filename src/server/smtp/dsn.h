// Delivery status notifications (bounces), RFC 3464 inside an RFC 6522
// multipart/report: a human-readable part, a message/delivery-status part,
// and the original header as text/rfc822-headers. Pure: no I/O.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::server::smtp {

struct FailedRecipient {
  std::string recipient;
  std::string status;      // RFC 3463 "5.1.1"; "4.4.7" for an expired message
  std::string diagnostic;  // the relay's reply ("550 5.1.1 ..."), empty when none
  std::string reason;      // one line for people, e.g. the connection error
};

struct BounceInput {
  std::string reporting_mta;    // our name (helo_name)
  std::string remote_mta;       // the relay's host, empty when never reached
  std::string original_sender;  // the bounce's recipient
  std::vector<FailedRecipient> recipients;
  std::string_view original;    // the original message; only its header is copied
  std::chrono::system_clock::time_point arrival;  // when we accepted it
  std::chrono::system_clock::time_point now;
  std::string unique;           // random token for the boundary and Message-ID
  std::size_t max_header_bytes = 64 * 1024;
};

// The complete bounce message, CRLF line ends, ready to submit with an empty
// envelope sender (RFC 5321 4.5.5).
std::string buildBounce(const BounceInput& input);

// The status code for a failure: the reply's enhanced code when it has one of
// the right class, else the class with ".0.0" (RFC 3463 3.1/3.2).
std::string statusFor(int reply_code, std::string_view enhanced, bool permanent);

// RFC 5322 3.3 date-time in UTC, "Tue, 24 Nov 2026 19:03:02 +0000".
std::string rfc5322Date(std::chrono::system_clock::time_point t);

}  // namespace rampart::server::smtp
