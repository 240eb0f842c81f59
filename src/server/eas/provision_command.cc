#include "server/eas/provision_command.h"

#include "core/log.h"
#include "server/eas/detail/device_information.h"

namespace rampart::server::eas {

namespace codec = rampart::eas;

namespace {

using detail::toStore;

// The policy version a final key was issued for; bumped when PolicySettings change.
constexpr std::int64_t kPolicyVersion = 1;

}  // namespace

Result<std::vector<std::uint8_t>> runProvision(ProvisionContext& ctx, const wbxml::Document& body) {
  const std::string& device = ctx.request.device_id;
  codec::ProvisionResponse res;
  auto req = codec::decodeProvisionRequest(body);
  if (!req) {
    // MS-ASPROV 2.2.2.54.1: Status 2, protocol error.
    log::get("eas")->info("Provision from {}/{}: {}", ctx.user, device, req.error().message());
    res.status = static_cast<std::uint8_t>(codec::ProvisionStatus::protocol_error);
    return codec::encodeProvisionResponse(res, ctx.protocol_version);
  }
  if (req->device_information) {
    // MS-ASPROV 3.2.5.1.1: store what the device says about itself (iOS on 16.x sends it here).
    if (auto st = ctx.devices.setDeviceInformation(ctx.user, device, toStore(*req->device_information)); !st) {
      return fail(st.error());
    }
    res.device_information_status = 1;
  }
  // The device acknowledges a wipe (MS-ASPROV 3.2.5.1.2.2): record it, answer success.
  if (req->remote_wipe_status || req->account_only_remote_wipe_status) {
    if (auto st = ctx.devices.acknowledgeWipe(ctx.user, device, ctx.now); !st && !st.error().is(Errc::invalid_argument)) {
      return fail(st.error());
    }
    return codec::encodeProvisionResponse(res, ctx.protocol_version);
  }
  auto state = ctx.devices.getDevice(ctx.user, device);
  if (!state) return fail(state.error());
  // A pending wipe is answered before any policy (MS-ASPROV 3.2.5.1.2.1).
  if (state->wipe == store::WipeState::pending || state->wipe == store::WipeState::pending_account_only) {
    bool account_only = state->wipe == store::WipeState::pending_account_only && ctx.protocol_version == "16.1";
    res.remote_wipe = !account_only;
    res.account_only_remote_wipe = account_only;
    return codec::encodeProvisionResponse(res, ctx.protocol_version);
  }
  if (!req->policy) return codec::encodeProvisionResponse(res, ctx.protocol_version);

  codec::PolicyResponse policy;
  policy.policy_type = req->policy->policy_type;
  if (req->policy->policy_type != codec::kEasPolicyType) {
    policy.status = static_cast<std::uint8_t>(codec::PolicyStatus::unknown_policy_type);
  } else if (!req->policy->policy_key) {
    // Phase 1 (MS-ASPROV 3.1.5.1): a temporary key and the policy document.
    auto key = ctx.devices.beginProvision(ctx.user, device);
    if (!key) return fail(key.error());
    policy.policy_key = *key;
    policy.settings = ctx.policy;
  } else {
    // Phase 2: the device acknowledges with the temporary key; hand out the final one.
    auto key = ctx.devices.confirmProvision(ctx.user, device, *req->policy->policy_key, kPolicyVersion);
    if (!key) {
      if (!key.error().is(Errc::invalid_argument)) return fail(key.error());
      policy.status = static_cast<std::uint8_t>(codec::PolicyStatus::wrong_policy_key);
    } else {
      policy.policy_key = *key;
    }
  }
  res.policy = std::move(policy);
  return codec::encodeProvisionResponse(res, ctx.protocol_version);
}

}  // namespace rampart::server::eas
