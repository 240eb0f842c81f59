// `rampart admin device`: the EAS devices of a user, remote wipe and access.
//
//   rampart admin [--config FILE | --data-dir DIR] device list USER
//   rampart admin ... device wipe USER DEVICE_ID [--account-only]
//   rampart admin ... device block|allow USER DEVICE_ID
//
// A wipe is carried out by the device at its next Provision (MS-ASPROV
// 3.2.5.1.2): the server answers RemoteWipe (or AccountOnlyRemoteWipe, 16.1),
// and the device's acknowledgement is recorded.
#include <cstdio>
#include <ctime>
#include <string>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/clock.h"
#include "store/sqlite/sqlite_device_store.h"

namespace rampart::cmd {
namespace {

constexpr const char* kUsage =
    "usage: rampart admin [--config FILE | --data-dir DIR] device <command>\n"
    "  list USER                          the user's devices and their state\n"
    "  wipe USER DEVICE_ID [--account-only]  wipe at the next Provision\n"
    "  block|allow USER DEVICE_ID         refuse or allow the device\n";

const char* wipeName(store::WipeState w) {
  switch (w) {
    case store::WipeState::none: return "-";
    case store::WipeState::pending: return "wipe-pending";
    case store::WipeState::pending_account_only: return "account-wipe-pending";
    case store::WipeState::acknowledged: return "wiped";
  }
  return "?";
}

const char* accessName(store::DeviceAccess a) {
  switch (a) {
    case store::DeviceAccess::allowed: return "allowed";
    case store::DeviceAccess::blocked: return "blocked";
    case store::DeviceAccess::quarantined: return "quarantined";
  }
  return "?";
}

int failWith(const Error& e) {
  std::fprintf(stderr, "rampart admin device: %s\n", e.message().c_str());
  return 1;
}

}  // namespace

int runAdminDevice(const Args& args) {
  auto pos = positionals(args, {"config", "data-dir"});
  // pos[0] == "device"
  if (pos.size() < 3) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto paths = resolvePaths(args);
  if (!paths) return failWith(paths.error());
  auto devices = store::sqlite::openSqliteDeviceStore(paths->database, systemRandom());
  if (!devices) return failWith(devices.error());
  const std::string& verb = pos[1];
  const std::string& user = pos[2];
  if (verb == "list") {
    auto list = (*devices)->listDevices(user);
    if (!list) return failWith(list.error());
    for (const auto& d : *list) {
      std::printf("%-32s %-16s %-11s %-20s provisioned=%s model=%s\n", d.device_id.c_str(),
                  d.device_type.c_str(), accessName(d.access), wipeName(d.wipe),
                  d.policy_key != 0 ? "yes" : "no", d.info.model.value_or("-").c_str());
    }
    return 0;
  }
  if (pos.size() < 4) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& device = pos[3];
  Status st;
  std::string done;
  if (verb == "wipe") {
    bool account_only = flag(args, "account-only");
    st = (*devices)->requestWipe(user, device, account_only, unixSeconds(systemClock().now()));
    done = std::string(account_only ? "account-only wipe" : "wipe") + " requested for " + device +
           " (carried out at its next Provision)";
  } else if (verb == "block") {
    st = (*devices)->setAccess(user, device, store::DeviceAccess::blocked);
    done = "blocked " + device;
  } else if (verb == "allow") {
    st = (*devices)->setAccess(user, device, store::DeviceAccess::allowed);
    done = "allowed " + device;
  } else {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!st) return failWith(st.error());
  std::printf("%s\n", done.c_str());
  return 0;
}

}  // namespace rampart::cmd
