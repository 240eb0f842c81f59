"""Issue 5 end to end on `rampart up`, with real peers only: EST enrollment
(RFC 7030) through the gateway with curl + openssl, re-enrollment with the
issued certificate, approval, revocation seen by `openssl verify -crl_check`,
`openssl ocsp`, GnuTLS `ocsptool` and the gateway (`curl --cert`), and an
issued certificate that survives a kill -9 right after the answer.
"""
import base64
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Harness, demo_password, main, require, start_up, wait_for  # noqa: E402


class Est:
    """curl + openssl as an EST client (RFC 7030 4.2.1: base64 DER bodies)."""

    def __init__(self, h, data, port):
        self.h = h
        self.base = f"https://localhost:{port}"
        self.cacert = os.path.join(data, "tls", "dev-ca.crt")  # the gateway's TLS certificate
        self.n = 0

    def curl(self, path, *args, body=None, user=None, cert=None):
        """Returns (status, headers, body bytes)."""
        self.n += 1
        out = self.h.path(f"curl-{self.n}.out")
        hdr = self.h.path(f"curl-{self.n}.hdr")
        cmd = ["curl", "-sS", "--cacert", self.cacert, "-o", out, "-D", hdr, "-w", "%{http_code}"]
        if user:
            cmd += ["-u", user]
        if cert:
            cmd += ["--cert", cert[0], "--key", cert[1]]
        if body is not None:
            src = self.h.path(f"curl-{self.n}.in")
            with open(src, "wb") as f:
                f.write(body)
            cmd += ["-H", "Content-Type: application/pkcs10", "--data-binary", "@" + src]
        r = subprocess.run(cmd + list(args) + [self.base + path], capture_output=True, text=True, timeout=60)
        require(r.returncode == 0, f"curl {path}: {r.stderr}")
        headers = open(hdr).read()
        return int(r.stdout), headers, open(out, "rb").read()

    def csr(self, name, cn="ignored-by-the-ca", key=None):
        """A new P-256 key and a base64 DER CSR; returns (key_path, body)."""
        key = key or self.h.path(f"{name}.key")
        der = self.h.path(f"{name}.csr.der")
        self.h.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-subj", f"/CN={cn}/O=Forged Org", "-addext", "subjectAltName=email:evil@x.test",
                    "-outform", "DER", "-out", der])
        return key, base64.encodebytes(open(der, "rb").read())

    def certs(self, body, name):
        """The PEM certificates of a base64 certs-only answer, written to name.pem."""
        der = self.h.path(f"{name}.p7.der")
        with open(der, "wb") as f:
            f.write(base64.b64decode(body))
        pem = self.h.path(f"{name}.pem")
        self.h.run(["openssl", "pkcs7", "-inform", "DER", "-in", der, "-print_certs", "-out", pem])
        return pem


def x509(h, pem, *what):
    return h.run(["openssl", "x509", "-in", pem, "-noout", *what]).stdout


def serial_of(h, pem):
    return x509(h, pem, "-serial").strip().split("=")[1].upper().lstrip("0") or "0"


def verify(h, root, issuing, leaf, crl=None):
    args = ["openssl", "verify", "-CAfile", root, "-untrusted", issuing]
    if crl:
        args += ["-crl_check", "-CRLfile", crl]
    return h.run(args + [leaf], check=False)


def fetch_crl(h, pki, name):
    path = h.path(name)
    h.run(["curl", "-sSf", "-o", path + ".der", f"http://127.0.0.1:{pki}/crl/issuing.crl"])
    h.run(["openssl", "crl", "-inform", "DER", "-in", path + ".der", "-out", path])
    return path


def ocsp_openssl(h, pki, root, issuing, leaf):
    r = h.run(["openssl", "ocsp", "-issuer", issuing, "-cert", leaf, "-url", f"http://127.0.0.1:{pki}/ocsp",
               "-CAfile", root, "-resp_text"], check=False)
    require(r.returncode == 0 and "Response verify OK" in r.stderr, f"openssl ocsp: {r.stdout} {r.stderr}")
    m = re.search(re.escape(leaf) + r": (good|revoked|unknown)", r.stdout)
    require(m, f"openssl ocsp printed no status: {r.stdout}")
    require("Nonce" in r.stdout, f"the nonce is echoed (RFC 8954): {r.stdout}")
    return m.group(1)


def ocsp_gnutls(h, pki, root, issuing, leaf):
    if not shutil.which("ocsptool"):
        print("ocsptool missing (gnutls-bin): GnuTLS check skipped")
        return None
    # The delegated responder is certified by the issuing CA (RFC 6960 4.2.2.2),
    # which GnuTLS wants among its trust anchors to check it.
    trust = h.write("ocsptool-trust.pem", open(issuing).read() + open(root).read())
    r = h.run(["ocsptool", f"--ask=http://127.0.0.1:{pki}/ocsp", "--load-issuer", issuing,
               "--load-cert", leaf, "--load-trust", trust], check=False)
    out = r.stdout + r.stderr
    require("Verifying OCSP Response: Success" in out, f"ocsptool verifies the answer: {out}")
    m = re.search(r"Certificate Status: (\w+)", out)
    require(m, f"ocsptool status: {out}")
    return m.group(1).lower()


def test(h: Harness):
    data = h.path("data")
    proc, ports = start_up(h, data, "up-1")
    eas, pki = ports["eas"], ports["pki"]
    password = demo_password(data)
    est = Est(h, data, eas)

    # /cacerts needs no authentication (RFC 7030 4.1.1): the issuing CA and the root.
    status, headers, body = est.curl("/.well-known/est/cacerts")
    require(status == 200 and "application/pkcs7-mime" in headers, f"cacerts: {status} {headers}")
    chain = est.certs(body, "cacerts")
    pems = open(chain).read().split("-----END CERTIFICATE-----")[:-1]
    require(len(pems) == 2, f"two CA certificates: {open(chain).read()}")
    issuing = h.write("issuing.pem", pems[0].strip() + "\n-----END CERTIFICATE-----\n")
    root = h.write("root.pem", pems[1].strip() + "\n-----END CERTIFICATE-----\n")
    require("Rampart Root CA" in x509(h, root, "-subject"), x509(h, root, "-subject"))
    # ... under a template label too, still without credentials.
    status, headers, body = est.curl("/.well-known/est/smime-sign/cacerts")
    require(status == 200 and "application/pkcs7-mime" in headers, f"labelled cacerts: {status} {headers}")

    # Enrollment needs the user's credentials: none -> 401, wrong -> 401.
    key, csr = est.csr("alice1")
    status, headers, _ = est.curl("/.well-known/est/simpleenroll", body=csr)
    require(status == 401 and "WWW-Authenticate: Basic" in headers, f"no credentials: {status} {headers}")
    require(re.search(r"(?i)content-length: 0\r?\n", headers), f"401 without a body (Bouncy Castle): {headers}")
    status, _, _ = est.curl("/.well-known/est/simpleenroll", body=csr, user="alice:wrong")
    require(status == 401, f"wrong password: {status}")

    # simpleenroll with Basic: subject and SAN come from the directory, not the CSR.
    status, headers, body = est.curl("/.well-known/est/simpleenroll", body=csr, user=f"alice:{password}")
    require(status == 200 and "certs-only" in headers, f"simpleenroll: {status} {headers} {body[:300]}")
    leaf = est.certs(body, "alice1")
    text = x509(h, leaf, "-text")
    require("CN = alice" in text and "Forged" not in text and "ignored-by-the-ca" not in text, text)
    require("email:alice@example.test" in text and "evil@x.test" not in text, text)
    require("TLS Web Client Authentication" in text, f"device template EKU: {text}")
    require(f"http://127.0.0.1:{pki}/crl/issuing.crl" in text and f"http://127.0.0.1:{pki}/ocsp" in text,
            f"CDP and AIA point at the CA: {text}")
    serial1 = serial_of(h, leaf)

    # A CSR whose signature does not verify (proof of possession, RFC 7030 3.4) -> 400.
    raw = bytearray(base64.b64decode(csr))
    raw[-5] ^= 0x55
    status, _, body = est.curl("/.well-known/est/simpleenroll", body=base64.encodebytes(bytes(raw)),
                               user=f"alice:{password}")
    require(status == 400, f"tampered CSR: {status} {body}")
    status, _, _ = est.curl("/.well-known/est/simpleenroll", body=b"not base64 at all!",
                            user=f"alice:{password}")
    require(status == 400, f"garbage CSR: {status}")
    status, _, _ = est.curl("/.well-known/est/no-such-template/simpleenroll", body=csr, user=f"alice:{password}")
    require(status == 404, f"unknown template: {status}")

    # csrattrs (RFC 7030 4.5).
    status, headers, _ = est.curl("/.well-known/est/csrattrs", user=f"alice:{password}")
    require(status in (200, 204), f"csrattrs: {status} {headers}")

    # The certificate verifies against the CA, with its CRL, and OCSP says good.
    crl = fetch_crl(h, pki, "crl-1.pem")
    r = verify(h, root, issuing, leaf, crl)
    require(r.returncode == 0, f"openssl verify -crl_check: {r.stdout} {r.stderr}")
    require(ocsp_openssl(h, pki, root, issuing, leaf) == "good", "OCSP good before revocation")
    require(ocsp_gnutls(h, pki, root, issuing, leaf) in (None, "good"), "ocsptool good before revocation")

    # The gateway accepts the certificate alone for EAS (no password).
    full = h.write("alice1-full.pem", open(leaf).read() + open(issuing).read())
    status, headers, _ = est.curl("/Microsoft-Server-ActiveSync", "-X", "OPTIONS", cert=(full, key))
    require(status == 200 and "ms-asprotocolversions" in headers.lower(), f"EAS with the certificate: {status} {headers}")

    # Re-enrollment with the current certificate (RFC 7030 4.2.2): same subject, new serial.
    # The device template opens renewal 30 days before expiry: too early now.
    key2, csr2 = est.csr("alice2")
    status, _, body = est.curl("/.well-known/est/simplereenroll", body=csr2, cert=(full, key))
    require(status == 403 and b"too early" in body, f"renewal before the window: {status} {body}")
    # An administrator lets renewal happen at any time: the window as long as the lifetime.
    device = h.rampart("admin", "--data-dir", data, "template", "show", "device").stdout
    lifetime = re.search(r'lifetime = "([^"]*)"', device).group(1)
    wide = h.write("device.toml", re.sub(r'renewal_window = "[^"]*"', f'renewal_window = "{lifetime}"', device))
    h.rampart("admin", "--data-dir", data, "template", "set", "device", "--file", wide)
    status, _, _ = est.curl("/.well-known/est/simplereenroll", body=csr2, user=f"alice:{password}")
    require(status in (401, 403), f"re-enrollment needs the certificate, not a password: {status}")
    status, headers, body = est.curl("/.well-known/est/simplereenroll", body=csr2, cert=(full, key))
    require(status == 200, f"simplereenroll: {status} {headers} {body[:300]}")
    leaf2 = est.certs(body, "alice2")
    require(x509(h, leaf2, "-subject") == x509(h, leaf, "-subject"), "the subject is kept on renewal")
    serial2 = serial_of(h, leaf2)
    require(serial2 != serial1, "a new serial")
    require(verify(h, root, issuing, leaf2).returncode == 0, "the renewed certificate verifies")

    # Revocation: the admin revokes the first certificate; CRL, OCSP and the gateway follow.
    r = h.rampart("admin", "--data-dir", data, "cert", "revoke", serial1, "--reason", "keyCompromise")
    require("revoked" in r.stdout, r.stdout)
    wait_for(lambda: ocsp_openssl(h, pki, root, issuing, leaf) == "revoked", timeout=30, interval=0.5,
             what="OCSP to say revoked")
    require(ocsp_gnutls(h, pki, root, issuing, leaf) in (None, "revoked"), "ocsptool says revoked")
    crl2 = fetch_crl(h, pki, "crl-2.pem")
    r = verify(h, root, issuing, leaf, crl2)
    require(r.returncode != 0 and "revoked" in (r.stdout + r.stderr), f"verify after revocation: {r.stdout}")
    require(verify(h, root, issuing, leaf2, crl2).returncode == 0, "the renewed certificate still verifies")
    require(ocsp_openssl(h, pki, root, issuing, leaf2) == "good", "the renewed certificate is good")
    # The gateway refuses the revoked certificate within its refresh interval (rampart up: 10 s).
    wait_for(lambda: est.curl("/Microsoft-Server-ActiveSync", "-X", "OPTIONS", cert=(full, key))[0] == 403,
             timeout=40, interval=1, what="the gateway to refuse the revoked certificate")
    full2 = h.write("alice2-full.pem", open(leaf2).read() + open(issuing).read())
    status, _, _ = est.curl("/Microsoft-Server-ActiveSync", "-X", "OPTIONS", cert=(full2, key2))
    require(status == 200, f"the renewed certificate still logs in: {status}")
    # A revoked certificate cannot renew either.
    status, _, _ = est.curl("/.well-known/est/simplereenroll", body=est.csr("alice3")[1], cert=(full, key))
    require(status == 403, f"re-enrollment with a revoked certificate: {status}")

    # A template that needs approval: 202 + Retry-After, then issued on retry once approved.
    tpl = h.write("approved.toml", h.rampart("admin", "--data-dir", data, "template", "show", "device").stdout
                  .replace('name = "device"', 'name = "managed"')
                  .replace("require_approval = false", "require_approval = true"))
    h.rampart("admin", "--data-dir", data, "template", "set", "managed", "--file", tpl)
    key4, csr4 = est.csr("bob1")
    bob = demo_password(data, "bob")
    status, headers, _ = est.curl("/.well-known/est/managed/simpleenroll", body=csr4, user=f"bob:{bob}")
    require(status == 202 and re.search(r"(?i)retry-after: \d+", headers), f"pending: {status} {headers}")
    listing = h.rampart("admin", "--data-dir", data, "cert", "list", "--status", "pending").stdout
    m = re.search(r"^(\d+)\s+pending\s+\S+\s+bob\s+managed", listing, re.M)
    require(m, f"the pending request is listed: {listing}")
    status, _, _ = est.curl("/.well-known/est/managed/simpleenroll", body=csr4, user=f"bob:{bob}")
    require(status == 202, f"still pending before approval: {status}")
    h.rampart("admin", "--data-dir", data, "cert", "approve", m.group(1))
    status, _, body = est.curl("/.well-known/est/managed/simpleenroll", body=csr4, user=f"bob:{bob}")
    require(status == 200, f"issued after approval: {status} {body[:200]}")
    require("CN = bob" in x509(h, est.certs(body, "bob1"), "-subject"), "bob's certificate")

    # Nothing issued is lost: kill -9 right after an answer, then the CA still knows it.
    key5, csr5 = est.csr("alice5")
    status, _, body = est.curl("/.well-known/est/simpleenroll", body=csr5, user=f"alice:{password}")
    require(status == 200, f"enroll before the kill: {status}")
    h.kill(proc)
    serial5 = serial_of(h, est.certs(body, "alice5"))
    listing = h.rampart("admin", "--data-dir", data, "cert", "list", "--user", "alice").stdout
    require(re.search(rf"issued\s+{serial5}\b", listing), f"{serial5} survives kill -9: {listing}")
    proc, ports = start_up(h, data, "up-2")
    require(ocsp_openssl(h, ports["pki"], root, issuing, est.h.path("alice5.pem")) == "good",
            "the certificate issued before the kill is good after the restart")
    require(ocsp_openssl(h, ports["pki"], root, issuing, leaf) == "revoked", "and the revoked one stays revoked")
    h.stop(proc)


if __name__ == "__main__":
    main(test)
