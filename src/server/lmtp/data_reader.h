// The DATA phase, sans I/O (RFC 5321 4.1.1.4 and 4.5.2).
//
// Feeds on the bytes that follow the 354 reply, removes dot-stuffing and stops
// at the terminator CRLF "." CRLF. The message is kept up to `max_size`
// octets; past that the reader keeps consuming (so the session stays in step
// with the client) but stores nothing more, and overflowed() tells the session
// to answer 552 for every recipient (RFC 2033 4.2) without having buffered the
// whole message.
//
// The terminator is recognised only after a CRLF (or at the very start), so a
// bare LF inside the data is data; the CRLF before the final "." belongs to
// the message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rampart::server::lmtp {

class DataReader {
 public:
  explicit DataReader(std::uint64_t max_size) : max_size_(max_size) {}

  struct Step {
    std::size_t consumed = 0;  // bytes of input used; the rest belongs to the next command
    bool done = false;         // the terminator was seen
  };
  // Consumes input up to and including the terminator.
  Step feed(std::string_view input);

  bool done() const { return state_ == State::done; }
  bool overflowed() const { return overflowed_; }
  // Octets of message data seen after unstuffing, counting those discarded.
  std::uint64_t size() const { return size_; }
  // The message (empty once overflowed); valid once done().
  std::string& message() { return message_; }

 private:
  enum class State {
    line_start,  // after CRLF (or at the start): a '.' here is special
    middle,      // inside a line
    cr,          // after a CR inside the data
    dot,         // a '.' at line start was seen and dropped
    dot_cr,      // ".\r" at line start: the terminator if LF follows
    done,
  };
  void emit(std::string_view bytes);

  std::uint64_t max_size_;
  std::uint64_t size_ = 0;
  bool overflowed_ = false;
  State state_ = State::line_start;
  std::string message_;
};

}  // namespace rampart::server::lmtp
