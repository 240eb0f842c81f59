#include "core/clock.h"

#include <sys/random.h>

#include <cerrno>
#include <ctime>
#include <cstdlib>

namespace rampart {
namespace {

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

class SystemRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        // Without randomness no token can be trusted; this never happens on Linux >= 3.17.
        std::abort();
      }
      done += static_cast<std::size_t>(n);
    }
  }
};

}  // namespace

Clock& systemClock() {
  static SystemClock clock;
  return clock;
}

Random& systemRandom() {
  static SystemRandom random;
  return random;
}

ManualClock::ManualClock(std::chrono::system_clock::time_point start)
    : wall_(start), steady_(std::chrono::steady_clock::time_point{}) {}

std::chrono::system_clock::time_point ManualClock::now() const {
  std::lock_guard lock(mutex_);
  return wall_;
}

std::chrono::steady_clock::time_point ManualClock::steadyNow() const {
  std::lock_guard lock(mutex_);
  return steady_;
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  std::lock_guard lock(mutex_);
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
  steady_ += by;
}

std::string utcText(std::int64_t unix_seconds, const char* format) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return {};
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace rampart
