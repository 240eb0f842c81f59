// Per-device protection against runaway clients: a token bucket on requests
// and a cap on requests in flight, keyed by (user, device id). A device over
// either limit is answered HTTP 503 with Retry-After and, where the command
// has a WBXML root, Status 111 "ServerErrorRetryLater" (MS-ASCMD 2.2.2 common
// status codes; MS-ASHTTP 2.2.2: 503 means retry later, Retry-After says when).
//
// A parked Ping holds one in-flight slot; the newest Ping of a device ends the
// older one, so a well-behaved device uses at most two or three slots.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace rampart::server::eas {

struct DeviceLimits {
  double requests_per_second = 10;  // sustained rate
  double burst = 100;               // bucket size
  int max_in_flight = 4;            // concurrent requests of one device
  std::size_t max_tracked = 200'000;  // devices remembered; idle ones are dropped first
};

class DeviceLimiter {
 public:
  class Slot;  // releases the in-flight slot when destroyed

  DeviceLimiter(DeviceLimits limits, Clock& clock) : limits_(limits), clock_(clock) {}

  // Admits a request: a slot, or the seconds the device should wait
  // (Retry-After) when it is over its rate or has too many requests in flight.
  struct Admission {
    std::unique_ptr<Slot> slot;       // null when refused
    std::chrono::seconds retry_after{0};
  };
  Admission admit(std::string_view user, std::string_view device_id);

  std::size_t tracked() const;

 private:
  struct Entry {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
    int in_flight = 0;
  };
  void release(const std::string& key);
  void pruneLocked(std::chrono::steady_clock::time_point now);

  DeviceLimits limits_;
  Clock& clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

class DeviceLimiter::Slot {
 public:
  Slot(DeviceLimiter& owner, std::string key) : owner_(owner), key_(std::move(key)) {}
  ~Slot() { owner_.release(key_); }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  DeviceLimiter& owner_;
  std::string key_;
};

}  // namespace rampart::server::eas
