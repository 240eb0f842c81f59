"""Issue 6 end to end on `rampart up`: message security between phones.

alice, bob and carol each set up `rampart device` and enroll S/MIME signing and
encryption certificates from the CA over EST. Then:
  - alice sends bob a signed and encrypted message through EAS (SendMail); the
    server stores it encrypted; bob reads it with a good signature; `openssl cms`
    verifies a signed message straight from bob's mailbox;
  - alice sends bob a Do-Not-Forward message; bob reads it with a use license
    from the rights server and replies (the reply stays protected and alice
    reads it); bob's forward is refused by his client, and a client that
    ignores rights is refused by the EAS server (SmartForward);
  - carol, not a recipient, gets no use license; the rights log shows who got
    what.
"""
import base64
import email
import os
import re
import shutil

from harness import RAMPART_BIN, Harness, demo_password, main, require, start_up


def test(h: Harness):
    data = h.path("data")
    proc, ports = start_up(h, data, "up")
    eas = ports["eas"]
    url = f"https://localhost:{eas}"
    ca = f"{data}/tls/dev-ca.crt"
    root_fp = h.run(["openssl", "x509", "-in", f"{data}/ca/root.crt", "-noout", "-fingerprint",
                     "-sha256"]).stdout.strip().split("=")[1]

    h.run([RAMPART_BIN, "admin", "--data-dir", data, "user", "add", "carol", "--address", "carol@example.test",
           "--display-name", "Carol", "--password-stdin"], input="carol-password-1\n")
    env = {"ALICE_PW": demo_password(data, "alice"), "BOB_PW": demo_password(data, "bob"),
           "CAROL_PW": "carol-password-1"}

    def device(user, *args, check=True):
        return h.run([RAMPART_BIN, "device", "--state", h.path(f"{user}.db"), *args], check=check, env=env,
                     timeout=120)

    for user in ("alice", "bob", "carol"):
        device(user, "setup", "--url", url, "--user", user, "--password-env", f"{user.upper()}_PW", "--ca", ca)
        for template in ("smime-sign", "smime-encrypt"):
            device(user, "cert", "enroll", "--template", template, "--est-url", f"{url}/.well-known/est",
                   "--trust-fingerprint", root_fp)
        listing = device(user, "cert", "list").stdout
        require("smime-sign" in listing and "smime-encrypt" in listing, f"{user}'s certificates: {listing}")

    def find(user, subject):
        device(user, "sync")
        listing = device(user, "list").stdout
        m = re.search(rf"^(\d+)\s.*{re.escape(subject)}\s*$", listing, re.M)
        require(m, f"{user} has '{subject}': {listing}")
        return m.group(1)

    # ---- S/MIME: signed and encrypted, through EAS ----
    device("alice", "send", "--to", "bob@example.test", "--subject", "sealed", "--body",
           "the launch code is 0000", "--sign", "--encrypt")
    read = device("bob", "read", find("bob", "sealed")).stdout
    require("Encrypted: yes" in read, f"bob sees it was encrypted: {read}")
    require("Signature: good" in read and "Alice" in read, f"bob sees alice's good signature: {read}")
    require("the launch code is 0000" in read, f"bob reads the text: {read}")
    # Nothing was known of bob: the default every peer reads.
    require("Encrypted: yes (aes-256-cbc)" in read, f"AES-CBC to an unknown reader: {read}")
    # alice's signature told bob what she reads (SMIMECapabilities): his answer upgrades to GCM.
    device("bob", "send", "--to", "alice@example.test", "--subject", "sealed back", "--body", "got it",
           "--sign", "--encrypt")
    back = device("alice", "read", find("alice", "sealed back")).stdout
    require("Encrypted: yes (aes-256-gcm)" in back and "Signature: good" in back and "got it" in back,
            f"bob's answer is AuthEnvelopedData (AES-GCM), signed: {back}")
    # The server only ever held ciphertext.
    for root, _, files in os.walk(data):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                require(b"the launch code is 0000" not in fh.read(),
                        f"the plaintext is nowhere in the server's data ({f})")

    # A signed-only message, checked by openssl straight from bob's mailbox.
    device("alice", "send", "--to", "bob@example.test", "--subject", "signed only", "--body", "verify me",
           "--sign")
    find("bob", "signed only")
    items = h.rampart("admin", "--data-dir", data, "mailbox", "list", "bob").stdout
    m = re.search(r"^(\d+)\s.*signed only", items, re.M)
    require(m, items)
    raw = h.run([RAMPART_BIN, "admin", "--data-dir", data, "mailbox", "show", "bob", m.group(1)]).stdout
    signed = h.path("signed.eml")
    open(signed, "w").write(raw)
    r = h.run(["openssl", "cms", "-verify", "-in", signed, "-CAfile", f"{data}/ca/root.crt",
               "-purpose", "any", "-out", h.path("verified.txt")], check=False)
    require(r.returncode == 0 and "verify me" in open(h.path("verified.txt")).read(),
            f"openssl cms verifies alice's signature: {r.stdout}{r.stderr}")

    # ---- A smart card: alice's signing key moves to a PKCS#11 token (SoftHSM2) ----
    module = "/usr/lib/softhsm/libsofthsm2.so"
    if os.path.exists(module) and shutil.which("pkcs11-tool") and shutil.which("softhsm2-util"):
        os.makedirs(h.path("tokens"))
        h.write("softhsm2.conf", f"directories.tokendir = {h.path('tokens')}\nobjectstore.backend = file\n")
        p11 = {"SOFTHSM2_CONF": h.path("softhsm2.conf"), "RAMPART_PKCS11_PIN": "4321"}
        env.update(p11)
        h.run(["softhsm2-util", "--init-token", "--free", "--label", "alice-card", "--pin", "4321",
               "--so-pin", "87654321"], env=p11)
        sign_dir = h.path("alice.db.certs", "templates", "smime-sign")
        h.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", f"{sign_dir}/key.pem", "-outform", "DER",
               "-out", h.path("alice-sign.p8")])
        h.run(["openssl", "x509", "-in", f"{sign_dir}/cert.pem", "-outform", "DER", "-out", h.path("alice-sign.der")])
        tool = ["pkcs11-tool", "--module", module, "--token-label", "alice-card", "--login", "--pin", "4321"]
        h.run([*tool, "--write-object", h.path("alice-sign.p8"), "--type", "privkey", "--id", "01", "--label", "sign"],
              env=p11)
        h.run([*tool, "--write-object", h.path("alice-sign.der"), "--type", "cert", "--id", "01", "--label", "sign"],
              env=p11)
        device("alice", "cert", "token", "--template", "smime-sign", "--module", module, "--uri",
               "pkcs11:token=alice-card;object=sign;type=private")
        os.remove(f"{sign_dir}/key.pem")  # from now on the key exists only on the card
        device("alice", "send", "--to", "bob@example.test", "--subject", "signed on the card", "--body",
               "from the token", "--sign")
        read = device("bob", "read", find("bob", "signed on the card")).stdout
        require("Signature: good" in read and "from the token" in read, f"a token signature verifies: {read}")
    else:
        print("SKIP the PKCS#11 part: softhsm2 / opensc not installed")

    # ---- Rights management: Do Not Forward ----
    device("alice", "send", "--to", "bob@example.test", "--subject", "board minutes", "--body",
           "not for anyone else", "--protect", "Do Not Forward")
    dnf = find("bob", "board minutes")
    read = device("bob", "read", dnf).stdout
    require("Rights: Do Not Forward" in read and "not for anyone else" in read, f"bob reads it: {read}")
    require("forward" not in read.split("Rights: Do Not Forward")[1].split("\n")[0],
            f"bob's license grants no forward: {read}")

    # bob replies: allowed, and the reply keeps the protection.
    device("bob", "reply", dnf, "--body", "noted, thanks")
    reply = device("alice", "read", find("alice", "Re: board minutes")).stdout
    require("Rights: Do Not Forward" in reply and "noted, thanks" in reply, f"the reply is protected: {reply}")

    # bob's client refuses to forward; a client that ignores rights meets the server's refusal.
    r = device("bob", "forward", dnf, "--to", "carol@example.test", "--body", "fyi", check=False)
    require(r.returncode != 0 and "not allowed" in r.stderr, f"bob's client refuses: {r.stdout}{r.stderr}")
    r = device("bob", "forward", dnf, "--to", "carol@example.test", "--body", "fyi", "--ignore-rights",
               check=False)
    require(r.returncode != 0 and "Status 172" in r.stderr,
            f"the server refuses SmartForward of a Do-Not-Forward message (172): {r.stdout}{r.stderr}")
    device("carol", "sync")
    require("board minutes" not in device("carol", "list").stdout, "carol received nothing")

    # carol is no recipient: no use license, even with the publishing license in hand.
    items = h.rampart("admin", "--data-dir", data, "mailbox", "list", "bob").stdout
    m = re.search(r"^(\d+)\s.*board minutes", items, re.M)
    require(m, items)
    raw = h.run([RAMPART_BIN, "admin", "--data-dir", data, "mailbox", "show", "bob", m.group(1)]).stdout
    msg = email.message_from_string(raw)
    pl = [p for p in msg.walk() if p.get_content_type() == "application/vnd.rampart.publishing-license"]
    require(len(pl) == 1, f"the stored message carries its publishing license: {raw[:2000]}")
    h.write("pl.der", "")
    open(h.path("pl.der"), "wb").write(base64.b64decode(pl[0].get_payload()))
    r = h.run(["curl", "-sS", "--cacert", ca, "-u", f"carol:{env['CAROL_PW']}", "-o", h.path("carol.out"),
               "-w", "%{http_code}", "-H", "Content-Type: application/vnd.rampart.publishing-license",
               "--data-binary", f"@{h.path('pl.der')}", f"{url}/rights/license"], check=False)
    require(r.stdout.strip() == "403", f"carol gets no use license: {r.stdout} {r.stderr}")

    log = h.rampart("admin", "--data-dir", data, "rights", "log").stdout
    require(re.search(r"\bbob\s+granted", log) and re.search(r"\bcarol\s+refused", log),
            f"the rights log: {log}")
    h.stop(proc)


if __name__ == "__main__":
    main(test)
