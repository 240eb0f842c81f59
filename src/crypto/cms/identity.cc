// Soft identities for S/MIME: a PEM key with its certificate chain, or a
// PKCS#12 file (the device's "soft certificate", DESIGN.md 3).
#include <openssl/err.h>
#include <openssl/x509.h>

#include "crypto/cms/smime.h"
#include "crypto/x509/pkcs12.h"

namespace rampart::crypto::cms {

Result<Identity> identityFromPem(std::string_view key_pem, std::string_view cert_chain_pem) {
  auto key = x509::parsePrivateKeyPem(key_pem);
  if (!key) return fail(key.error());
  auto certs = x509::parseCertificates(cert_chain_pem);
  if (!certs) return fail(certs.error());
  Identity id;
  id.key = std::move(*key);
  // The first certificate is the key's; the rest its chain, issuer first.
  id.cert = std::move(certs->front());
  for (std::size_t i = 1; i < certs->size(); ++i) id.chain.push_back(std::move((*certs)[i]));
  if (X509_check_private_key(id.cert.get(), id.key.get()) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_argument, "the key does not match the first certificate");
  }
  return id;
}

Result<Identity> identityFromPkcs12(std::string_view der, std::string_view password) {
  auto contents = x509::importPkcs12(der, password);
  if (!contents) return fail(contents.error());
  Identity id;
  id.key = std::move(contents->key);
  id.cert = std::move(contents->cert);
  id.chain = std::move(contents->chain);
  return id;
}

}  // namespace rampart::crypto::cms
