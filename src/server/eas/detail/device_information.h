// DeviceInformation as the Provision codec decodes it (MS-ASPROV 2.2.2.53,
// inside Provision) and as Settings carries it (MS-ASCMD 2.2.3.52), turned
// into the device store's record. Shared by Provision and Settings.
#pragma once

#include "codec/eas/provision.h"
#include "store/device_store.h"

namespace rampart::server::eas::detail {

inline store::DeviceInformation toStore(const rampart::eas::DeviceInformation& in) {
  store::DeviceInformation out;
  out.model = in.model;
  out.imei = in.imei;
  out.friendly_name = in.friendly_name;
  out.os = in.os;
  out.os_language = in.os_language;
  out.phone_number = in.phone_number;
  out.user_agent = in.user_agent;
  out.mobile_operator = in.mobile_operator;
  return out;
}

}  // namespace rampart::server::eas::detail
