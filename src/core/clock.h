// Injected time and randomness, so that deadlines, retries and tokens can be
// tested without sleeping or guessing.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

namespace rampart {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time: timestamps that are stored or shown.
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time: deadlines and intervals.
  virtual std::chrono::steady_clock::time_point steadyNow() const = 0;
};

// The real clocks. The returned object lives for the whole program.
Clock& systemClock();

// A clock that only moves when told to; thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::chrono::system_clock::time_point start);
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steadyNow() const override;
  void advance(std::chrono::nanoseconds by);

 private:
  mutable std::mutex mutex_;
  std::chrono::system_clock::time_point wall_;
  std::chrono::steady_clock::time_point steady_;
};

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// The kernel's CSPRNG (getrandom(2)); lives for the whole program.
Random& systemRandom();

// `unix_seconds` as UTC text in strftime(3) `format` (e.g. "%Y-%m-%d %H:%M");
// empty when the time cannot be broken down, or the text exceeds 63 bytes.
std::string utcText(std::int64_t unix_seconds, const char* format);

// Seconds since the Unix epoch.
inline std::int64_t unixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace rampart
