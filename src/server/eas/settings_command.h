// The Settings command (MS-ASCMD 2.2.1.18): Out of Office (Oof Get/Set, kept
// in the mail store), the device's DeviceInformation (kept in the device
// store), the user's addresses (UserInformation Get), a recovery password
// (DevicePassword Set) and rights-management templates (Get). Blocking (mail
// and device stores); the EAS service runs it on its blocking pool.
#pragma once

#include <cstdint>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/command_context.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.15 Status (Settings), the values this server answers,
// both for the whole command and for each of its parts.
enum class SettingsStatus : std::uint8_t {
  success = 1,
  protocol_error = 2,     // the request does not follow the schema
  invalid_arguments = 5,  // e.g. time-based Oof without a valid time window
  denied_by_policy = 7,   // DevicePassword: our policy has PasswordRecoveryEnabled 0
};

// Answers one Settings request; returns the WBXML response body: Status, then
// a part per part asked for, in the schema's order (RightsManagementInformation,
// Oof, DevicePassword, DeviceInformation, UserInformation).
//
// - Oof Get: the stored state, the time window when time-based, and each
//   audience's reply in the BodyType asked for (HTML is turned into text for
//   Text; text is escaped into HTML for HTML). Oof Set: the fields sent replace
//   the stored ones; audiences not sent are kept. State 2 needs a window with
//   StartTime < EndTime (sent now or stored before), else Status 5.
// - DeviceInformation Set: stored with DeviceStore::setDeviceInformation.
// - UserInformation Get: ctx.address (with ctx.display_name) as the only
//   address; from 14.1 inside Accounts/Account with UserDisplayName and
//   PrimarySmtpAddress.
// - DevicePassword Set: not stored; Status 7 (our provisioning policy does
//   not enable password recovery, MS-ASPROV 2.2.2.39).
// - RightsManagementInformation Get (14.1+): Status 1 with no templates.
//
// Out of Office replies are NOT sent on delivery yet: this stores the state.
//
// A request that does not follow the schema is answered with Status 2. Errors
// are storage failures (HTTP 500) and encoding errors.
Result<std::vector<std::uint8_t>> runSettings(CommandContext& ctx, const wbxml::Document& body);

}  // namespace rampart::server::eas
