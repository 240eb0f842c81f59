#include "server/lmtp/data_reader.h"

#include <cstring>

namespace rampart::server::lmtp {

void DataReader::emit(std::string_view bytes) {
  size_ += bytes.size();
  if (overflowed_) return;
  if (size_ > max_size_) {
    // From here on nothing is kept: release what we had so an over-size
    // message costs no more memory than the limit.
    overflowed_ = true;
    std::string().swap(message_);
    return;
  }
  message_.append(bytes);
}

DataReader::Step DataReader::feed(std::string_view input) {
  Step step;
  std::size_t i = 0;
  const std::size_t n = input.size();
  while (i < n && state_ != State::done) {
    const char c = input[i];
    switch (state_) {
      case State::middle: {
        // Fast path: copy everything up to the next CR in one go.
        const void* p = std::memchr(input.data() + i, '\r', n - i);
        std::size_t end = p ? static_cast<std::size_t>(static_cast<const char*>(p) - input.data()) : n;
        emit(input.substr(i, end - i));
        i = end;
        if (p) {
          emit("\r");
          state_ = State::cr;
          ++i;
        }
        break;
      }
      case State::line_start:
        if (c == '.') {
          state_ = State::dot;  // RFC 5321 4.5.2: drop the leading dot
          ++i;
        } else {
          state_ = State::middle;
        }
        break;
      case State::cr:
        if (c == '\n') {
          emit("\n");
          state_ = State::line_start;
          ++i;
        } else {
          state_ = State::middle;  // a bare CR is data
        }
        break;
      case State::dot:
        if (c == '\r') {
          state_ = State::dot_cr;
          ++i;
        } else {
          state_ = State::middle;  // a stuffed dot: the line goes on without it
        }
        break;
      case State::dot_cr:
        if (c == '\n') {
          state_ = State::done;
          ++i;
        } else {
          // ".\r" then something else: the dot was stuffing, the CR is data.
          emit("\r");
          state_ = State::cr;
        }
        break;
      case State::done:
        break;
    }
  }
  step.consumed = i;
  step.done = state_ == State::done;
  return step;
}

}  // namespace rampart::server::lmtp
