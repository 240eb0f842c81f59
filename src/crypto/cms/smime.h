// S/MIME 4.0 (RFC 8551) over OpenSSL 3.0's CMS (RFC 5652): what the device
// client does to a message before it leaves and after it arrives (DESIGN.md 4).
// The EAS server never calls this: it stores and syncs S/MIME untouched.
//
// Sending defaults to what every peer reads (REFERENCES.md "PKI and message
// security": gpgsm 2.2 and NSS read only AES-CBC with RSA PKCS#1 v1.5 key
// transport) and upgrades per message to AES-GCM AuthEnvelopedData (RFC 5083),
// RSA-OAEP (RFC 8017 / RFC 3560) and, for EC recipients, ECDH with a SHA-256
// KDF (RFC 5753) where every recipient's S/MIME capabilities (RFC 8551 2.5.2)
// allow it. Receiving accepts everything RFC 8551 lets OpenSSL 3.0 do.
//
// Every function takes and returns whole RFC 5322 messages (CRLF line ends):
// the top-level headers that are not Content-* stay outside the protection,
// the Content-* headers and body become the protected MIME entity (RFC 8551
// 3.1). Bad input is an Error or a verdict, never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "crypto/x509/verify.h"
#include "crypto/x509/x509.h"

namespace rampart::crypto::cms {

// A signing or decrypting identity. The key may be a soft key (PEM, PKCS#12)
// or a handle to a key on a PKCS#11 token: OpenSSL signs/decrypts through it
// without the key leaving the token.
struct Identity {
  x509::KeyPtr key;
  x509::CertPtr cert;
  std::vector<x509::CertPtr> chain;  // intermediates, leaf's issuer first
};

Result<Identity> identityFromPem(std::string_view key_pem, std::string_view cert_chain_pem);
Result<Identity> identityFromPkcs12(std::string_view der, std::string_view password);
// A key and certificate on a PKCS#11 token named by an RFC 7512 URI
// ("pkcs11:token=...;object=...;type=private"), through the module at
// `module_path` (e.g. /usr/lib/softhsm/libsofthsm2.so) and OpenSSL's pkcs11
// engine (Debian: libengine-pkcs11-openssl). The PIN is never logged.
Result<Identity> identityFromPkcs11(std::string_view uri, std::string_view pin,
                                    std::string_view module_path);

enum class Digest { sha256, sha384, sha512 };
enum class RsaSignature { pkcs1v15, pss };
enum class SignedForm {
  clear,   // multipart/signed; protocol="application/pkcs7-signature" (RFC 8551 3.5.3)
  opaque,  // application/pkcs7-mime; smime-type=signed-data (RFC 8551 3.5.2)
};

struct SignOptions {
  SignedForm form = SignedForm::clear;
  Digest digest = Digest::sha256;
  RsaSignature rsa = RsaSignature::pkcs1v15;  // ignored for EC keys (ECDSA)
  bool capabilities = true;    // SMIMECapabilities signed attribute (RFC 8551 2.5.2)
  bool include_chain = true;   // the signer's intermediates in certificates
};

Result<std::string> signMessage(std::string_view message, const Identity& signer,
                                const SignOptions& options = {});

// What a correspondent announced it can read, from the SMIMECapabilities
// attribute of a message it signed (the device keeps the last one per address).
struct Capabilities {
  bool known = false;       // false: nothing announced, use the defaults
  bool aes_cbc = true;
  bool aes_gcm = false;     // id-aes128-GCM / id-aes256-GCM
  bool rsa_oaep = false;    // id-RSAES-OAEP
  bool ecdh_sha256 = false; // dhSinglePass-stdDH-sha256kdf-scheme
};
// Encoded form for the device's state file; parse is strict (unknown or
// repeated words are parse_error). "default" is known = false; otherwise the
// words present, in this order, "" when a signer announced none of them.
std::string capabilitiesText(const Capabilities& caps);  // e.g. "aes-cbc,aes-gcm,rsa-oaep"
Result<Capabilities> parseCapabilitiesText(std::string_view text);

enum class ContentCipher { aes128_cbc, aes256_cbc, aes128_gcm, aes256_gcm };
std::string_view contentCipherName(ContentCipher cipher);  // "aes-256-cbc", ...

struct Recipient {
  x509::CertPtr cert;      // its S/MIME encryption certificate (RSA or EC)
  Capabilities caps;
};

struct EncryptOptions {
  // Use GCM where every recipient announced it (the content is shared); OAEP
  // for each RSA recipient that announced it (key transport is per
  // recipient). EC recipients always get ECDH with the SHA-256 KDF.
  bool upgrade = true;
  std::optional<ContentCipher> cipher;  // force (tests, interop); overrides upgrade
  std::optional<bool> rsa_oaep;         // force OAEP on or off for RSA recipients
};

struct EncryptReport {
  ContentCipher cipher = ContentCipher::aes256_cbc;
  std::vector<std::string> key_management;  // per recipient: "rsa-pkcs1", "rsa-oaep", "ecdh-sha256"
};

// The sender is normally among `recipients` too, to read its own Sent copy.
Result<std::string> encryptMessage(std::string_view message, std::span<const Recipient> recipients,
                                   const EncryptOptions& options = {},
                                   EncryptReport* report = nullptr);

// What kind of protection the top level of a message has (Content-Type).
enum class Layer { none, signed_clear, signed_opaque, enveloped, auth_enveloped, unknown_smime };
Layer classify(std::string_view message);

struct Signature {
  bool valid = false;          // the signature over the content verifies
  std::string detail;          // why not, in words
  x509::ChainVerdict chain;    // the signer's certificate judged for smime_signing
  std::string signer_subject;
  std::vector<std::string> signer_emails;
  bool from_matches = false;   // the message's From address is among signer_emails (RFC 8550 3)
  std::string digest;          // "sha256", ...
  std::int64_t signing_time = 0;  // Unix seconds, 0 if absent
  Capabilities capabilities;   // what the signer announced
  x509::CertPtr signer_cert;
  // SignerInfos in the SignedData. With more than one, the fields above are
  // the best signer's (good, else valid with a good chain, else valid).
  int signers = 1;
  bool good() const noexcept { return valid && chain.ok() && from_matches; }
};

struct Opened {
  std::string message;         // the innermost message: outer headers + inner entity
  bool encrypted = false;
  std::string cipher;          // "aes-256-gcm", ... when encrypted
  std::optional<Signature> signature;  // when signed (outermost signature inside the envelope)
};

// Removes every S/MIME layer (at most 4, in any order: signed, encrypted,
// signed-then-encrypted, triple-wrapped). `me` decrypts; without it an
// encrypted message is an Error (permission_denied). `trust` judges signers.
// A tampered or wrongly keyed message is an Error (decrypt) or a Signature
// with valid = false (verify): a clear verdict either way.
Result<Opened> openMessage(std::string_view message, const Identity* me,
                           const x509::VerifyOptions& trust);

}  // namespace rampart::crypto::cms
