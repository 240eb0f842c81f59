// A development PKI for `rampart up`: a local root CA and a server certificate
// for localhost/127.0.0.1 signed by it, so that clients can be pointed at the
// CA file instead of turning verification off. Never for production: the CA
// key sits beside the certificates.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace rampart::tls {

struct DevPkiFiles {
  std::string ca_cert;      // dir/dev-ca.crt   (give this to clients)
  std::string ca_key;       // dir/dev-ca.key   (0600)
  std::string server_cert;  // dir/server.crt   (leaf, then the CA)
  std::string server_key;   // dir/server.key   (0600)
};

// Creates the files in `dir` unless they all exist already (then returns their
// paths untouched). ECDSA P-256 keys; the server certificate names every entry
// of `names` (DNS names or IP addresses) as a subjectAltName.
Result<DevPkiFiles> ensureDevPki(const std::string& dir, const std::vector<std::string>& names);

struct DevClientCert {
  std::string cert;  // dir/NAME.crt (leaf, then the CA)
  std::string key;   // dir/NAME.key (0600)
};

// A client certificate (extendedKeyUsage clientAuth) named `name`, signed by
// the development CA of `pki`, beside it; created once. `rampart up` gives one
// to the gateway for its mTLS link to the mail server.
Result<DevClientCert> ensureDevClientCert(const DevPkiFiles& pki, const std::string& name);

}  // namespace rampart::tls
