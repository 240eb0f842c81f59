"""EST (RFC 7030) interop with Bouncy Castle's EST client (Debian's libbcpkix-java on the
JDK) against `rampart up`, through the edge gateway like a device:

- est_bc/EstClient.java is compiled here with javac; it uses org.bouncycastle.est (JsseESTServiceBuilder,
  ESTService) and trusts only <data>/tls/dev-ca.crt for the gateway's TLS;
- /cacerts (4.1) without credentials gives the CA chain;
- /simpleenroll (4.2.1) as alice with Bouncy Castle's own Basic (the 401 challenge, then the
  password), from a CSR that asks for another CN and another e-mail SAN: the certificate's
  subject and SAN come from the directory (CN=alice, alice@example.test), never from the CSR,
  and it verifies against the /cacerts chain as a TLS client certificate;
- a wrong password is refused;
- /simplereenroll (4.2.2) authenticated by the issued certificate alone (TLS client auth, a new
  key pair) is refused (403, too early) before the template's renewal window; once an
  administrator widens the window (`rampart admin template set`) it gives a certificate with the
  same subject and SAN, a new serial and the new key.

Skips (exit 0, "SKIP") when javac/java or the Bouncy Castle jars are missing:
scripts/install-deps.sh installs libbcpkix-java libbcprov-java default-jdk-headless.
EST_BC_PREEMPTIVE=1 sends Basic on the first request instead of after the 401 (diagnosis only).
"""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RAMPART_BIN, SOURCE_DIR, main, require, wait_for  # noqa: E402

JAR_DIR = os.environ.get("BC_JAR_DIR", "/usr/share/java")
JARS = ["bcpkix.jar", "bcprov.jar", "bcutil.jar"]
SOURCE = os.path.join(SOURCE_DIR, "tests", "integration", "est_bc", "EstClient.java")
INSTALL_HINT = "(scripts/install-deps.sh installs libbcpkix-java libbcprov-java default-jdk-headless)"


def start(h, data):
    proc = h.start([RAMPART_BIN, "up", "--data-dir", data, "--lmtp-port", "0", "--admin-port", "0",
                    "--eas-port", "0", "--link-port", "0", "--gateway-admin-port", "0",
                    "--est-link-port", "0", "--pki-port", "0", "--rights-link-port", "0"], "up")

    def port():
        if proc.poll() is not None:
            raise AssertionError(f"rampart up exited with {proc.returncode}")
        m = re.search(r"EAS \(HTTPS\)\s+https://localhost:(\d+)/", h.log(proc))
        return m and m.group(1)
    return proc, int(wait_for(port, timeout=90, what="the EAS (gateway) port in rampart up's banner"))


def openssl_x509(h, path, *args):
    return h.run(["openssl", "x509", "-in", path, "-noout", *args]).stdout.strip()


def subject(h, path):
    return openssl_x509(h, path, "-subject", "-nameopt", "RFC2253").removeprefix("subject=").strip()


def san(h, path):
    return openssl_x509(h, path, "-ext", "subjectAltName")


def serial(h, path):
    return openssl_x509(h, path, "-serial").removeprefix("serial=").strip()


def pubkey(h, path):
    return h.run(["openssl", "x509", "-in", path, "-noout", "-pubkey"]).stdout


def test(h):
    javac, java = shutil.which("javac"), shutil.which("java")
    missing = [name for name, found in (("javac", javac), ("java", java)) if not found]
    missing += [os.path.join(JAR_DIR, j) for j in JARS if not os.path.isfile(os.path.join(JAR_DIR, j))]
    if missing:
        print(f"SKIP: the Bouncy Castle EST test needs {', '.join(missing)} {INSTALL_HINT}")
        return
    require(shutil.which("openssl"), "openssl is needed to read the issued certificates")
    require(RAMPART_BIN, "RAMPART_BIN is not set")

    classes = h.path("classes")
    classpath = ":".join(os.path.join(JAR_DIR, j) for j in JARS)
    h.run([javac, "-Xlint:all,-path", "-d", classes, "-cp", classpath, SOURCE], timeout=300)
    run_cp = classpath + ":" + classes

    data = h.path("data")
    proc, port = start(h, data)
    trust = f"{data}/tls/dev-ca.crt"
    password = open(f"{data}/demo-users.txt").read().split("alice alice@example.test ")[1].split()[0]
    common = ["--server", f"localhost:{port}", "--trust", trust]

    def est(*args, env=None, check=True):
        r = h.run([java, "-cp", run_cp, "EstClient", *args, *common], env=env, check=False, timeout=120)
        print(f"$ EstClient {args[0]} -> {r.returncode}\n{r.stdout}{r.stderr}", end="")
        if check and r.returncode != 0:
            hint = ""
            if "Stream closed before limit fully read" in r.stderr:
                hint = ("\nBouncy Castle 1.72 closes a 401 without reading it and fails when its body is"
                        " 2 bytes or more: the 401 with WWW-Authenticate must have an empty body"
                        " (EST_BC_PREEMPTIVE=1 sends Basic up front to test the rest)")
            raise AssertionError(f"EstClient {args[0]} exited {r.returncode}: {r.stderr.strip()}{hint}")
        return r

    # /cacerts: no credentials (RFC 7030 4.1.1).
    chain = h.path("cacerts.pem")
    est("cacerts", "--out", chain)
    n = open(chain).read().count("BEGIN CERTIFICATE")
    require(n >= 1, f"/cacerts gave {n} certificates")

    # /simpleenroll as alice; the CSR asks for another name and address.
    basic = ["--basic-preemptive"] if os.environ.get("EST_BC_PREEMPTIVE") == "1" else []
    alice = {"EST_USER": "alice", "EST_PASSWORD": password}
    cert1, key1 = h.path("alice1.pem"), h.path("alice1.key")
    est("enroll", "--cn", "mallory-from-the-csr", "--csr-email", "mallory@attacker.test",
        "--out-cert", cert1, "--out-key", key1, *basic, env=alice)
    require(os.stat(key1).st_mode & 0o777 == 0o600, "the key file is 0600")
    subj1, san1 = subject(h, cert1), san(h, cert1)
    require(re.search(r"(^|,)CN=alice(,|$)", subj1), f"the subject names alice from the directory: {subj1}")
    require("mallory" not in subj1, f"nothing of the CSR's subject: {subj1}")
    require("email:alice@example.test" in san1, f"the SAN is alice's address from the directory: {san1}")
    require("mallory" not in san1 and "attacker" not in san1, f"nothing of the CSR's SAN: {san1}")
    # It chains to what /cacerts gave, for TLS client use (the device template).
    h.run(["openssl", "verify", "-CAfile", chain, "-purpose", "sslclient", cert1])

    # A wrong password gets no certificate.
    r = est("enroll", "--cn", "alice", "--out-cert", h.path("wrong.pem"), "--out-key", h.path("wrong.key"),
            *basic, env={"EST_USER": "alice", "EST_PASSWORD": password + "x"}, check=False)
    require(r.returncode != 0 and not os.path.exists(h.path("wrong.pem")),
            f"a wrong password is refused: {r.stderr}")

    # /simplereenroll with the issued certificate in TLS, no password, a new key. The device
    # template opens renewal 30 days before expiry, so first it is too early...
    cert2, key2 = h.path("alice2.pem"), h.path("alice2.key")
    reenroll = ["reenroll", "--cert", cert1, "--key", key1, "--chain", chain, "--out-cert", cert2, "--out-key", key2]
    no_password = {"EST_USER": "", "EST_PASSWORD": ""}
    r = est(*reenroll, env=no_password, check=False)
    require(r.returncode != 0 and "403" in r.stderr and "too early" in r.stderr,
            f"renewal before the window is refused with 403: {r.stderr}")
    # ... until an administrator opens the window for the whole lifetime.
    device = h.rampart("admin", "--data-dir", data, "template", "show", "device").stdout
    lifetime = re.search(r'lifetime = "([^"]*)"', device).group(1)
    wide = h.write("device.toml", re.sub(r'renewal_window = "[^"]*"', f'renewal_window = "{lifetime}"', device))
    h.rampart("admin", "--data-dir", data, "template", "set", "device", "--file", wide)
    est(*reenroll, env=no_password)
    require(subject(h, cert2) == subj1, f"re-enrollment keeps the subject: {subject(h, cert2)} vs {subj1}")
    require(san(h, cert2) == san1, f"re-enrollment keeps the SAN: {san(h, cert2)} vs {san1}")
    s1, s2 = serial(h, cert1), serial(h, cert2)
    require(s1 != s2, f"re-enrollment issues a new serial ({s1})")
    require(pubkey(h, cert2) != pubkey(h, cert1), "the renewed certificate carries the new key")
    h.run(["openssl", "verify", "-CAfile", chain, "-purpose", "sslclient", cert2])
    print(f"enrolled serial {s1}, re-enrolled serial {s2}, subject {subj1}")
    require(proc.poll() is None, "rampart up is still running")


if __name__ == "__main__":
    main(test)
