"""Issue 5's device story on `rampart up`: the CA writes a provisioning document;
`rampart device setup --provisioning` refuses the CA's root until it is accepted
by fingerprint, then makes a key pair on the device, enrolls over EST through
the gateway with the password, and from then on logs in to EAS with the
certificate alone; Direct Push keeps working; the certificate exports as
PKCS#12 an old phone reads; a revocation locks the device out.
"""
import os
import re
import subprocess

from harness import RAMPART_BIN, Harness, demo_password, main, require, start_up, wait_for


def swaks(h, port, subject):
    r = h.run(["swaks", "--protocol", "LMTP", "--server", f"127.0.0.1:{port}", "--helo", "client.test",
               "--from", "bob@example.test", "--to", "alice@example.test", "--header", f"Subject: {subject}",
               "--body", f"body of {subject}", "--timeout", "30"], check=False)
    require(r.returncode == 0 and "250" in r.stdout, f"swaks: {r.stdout}{r.stderr}")


def test(h: Harness):
    data = h.path("data")
    proc, ports = start_up(h, data, "up")
    eas, lmtp = ports["eas"], ports["lmtp"]
    env = {"ALICE_PW": demo_password(data), "P12_PW": "export-secret-1"}
    state = h.path("alice.db")

    def device(*args, check=True):
        return h.run([RAMPART_BIN, "device", "--state", state, *args], check=check, env=env, timeout=120)

    # The provisioning document names the EST and EAS URLs and the CA's root.
    prov = h.path("provisioning.xml")
    h.rampart("ca", "provisioning", "--config", f"{data}/ca.toml", "--url", f"https://localhost:{eas}",
              "--out", prov)
    text = open(prov).read()
    require(f"https://localhost:{eas}/.well-known/est" in text and "BEGIN CERTIFICATE" in text, text)
    root_fp = h.run(["openssl", "x509", "-in", f"{data}/ca/root.crt", "-noout", "-fingerprint",
                     "-sha256"]).stdout.strip().split("=")[1]

    # An unknown root is shown and refused until accepted.
    setup = ["setup", "--provisioning", prov, "--user", "alice", "--password-env", "ALICE_PW",
             "--ca", f"{data}/tls/dev-ca.crt", "--cert"]
    r = device(*setup, check=False)
    require(r.returncode != 0 and root_fp in (r.stdout + r.stderr),
            f"the root is shown by fingerprint and not trusted yet: {r.returncode} {r.stdout} {r.stderr}")
    require(not re.search(r"simpleenroll", h.log(proc)), "nothing enrolled before the root was accepted")
    device("cert", "trust", "--fingerprint", root_fp)
    r = device(*setup)
    listing = device("cert", "list").stdout
    require("device" in listing and "CN=alice" in listing, f"the device certificate: {listing}")
    key = wait_for(lambda: [p for p in (os.path.join(d, f) for d, _, fs in os.walk(state + ".certs") for f in fs)
                            if p.endswith("key.pem")], timeout=5, what="the device key")
    require(all((os.stat(k).st_mode & 0o777) == 0o600 for k in key), f"keys are 0600: {key}")

    # EAS with the certificate alone: every request after enrollment is a certificate login.
    mark = len(h.log(proc))
    swaks(h, lmtp, "first over a certificate")
    out = device("sync").stdout + device("list").stdout
    require("first over a certificate" in out, f"sync with the certificate: {out}")
    access = [line for line in h.log(proc)[mark:].splitlines() if "Microsoft-Server-ActiveSync" in line]
    require(access and all("auth=certificate" in line and "user=alice" in line for line in access),
            f"certificate logins only: {access}")

    # Direct Push over the certificate login.
    watcher = h.start([RAMPART_BIN, "device", "--state", state, "watch", "--heartbeat", "120", "--count", "1"],
                      "watch", env=env)
    wait_for(lambda: "watching Inbox" in h.log(watcher), timeout=60, what="watch to start")
    swaks(h, lmtp, "pushed to the certificate")
    require(watcher.wait(timeout=90) == 0, f"watch: {h.log(watcher)}")
    require("pushed to the certificate" in h.log(watcher) or "new: Inbox" in h.log(watcher), h.log(watcher))

    # PKCS#12 for an old phone: 3DES + SHA-1 MAC, read by openssl without the legacy provider.
    p12 = h.path("alice.p12")
    device("cert", "export", "--out", p12, "--password-env", "P12_PW", "--profile", "compat")
    info = subprocess.run(["openssl", "pkcs12", "-info", "-in", p12, "-nokeys", "-passin", "env:P12_PW"],
                          capture_output=True, text=True, env={**os.environ, **env})
    require(info.returncode == 0 and "TripleDES" in info.stderr + info.stdout and "MAC: sha1" in info.stderr + info.stdout,
            f"compat PKCS#12: {info.stdout} {info.stderr}")

    # Revocation: the next login is refused.
    certs = h.rampart("admin", "--data-dir", data, "cert", "list", "--user", "alice", "--status", "issued").stdout
    serial = re.search(r"^\d+\s+issued\s+([0-9A-F]+)\s+alice\s+device", certs, re.M)
    require(serial, certs)
    h.rampart("admin", "--data-dir", data, "cert", "revoke", serial.group(1), "--reason", "keyCompromise")
    wait_for(lambda: device("sync", check=False).returncode != 0, timeout=60, interval=2,
             what="the revoked certificate to be refused")
    h.stop(proc)


if __name__ == "__main__":
    main(test)
