"""Mail out through a real Postfix relay, and back in through our LMTP.

A private Postfix (postfix.py) listens on loopback with STARTTLS, relays for
our network, rewrites carol@remote.test to bob@local.test (virtual_alias_maps)
and hands local.test to our LMTP listener (transport_maps). Then:

1. `rampart admin mail send` queues mail for carol@remote.test; the server's
   relay worker takes it to Postfix over STARTTLS, and it arrives in bob's
   Inbox with Postfix's TLS Received header.
2. A recipient Postfix refuses with 550 5.1.1 produces a DSN (RFC 3464) in
   the sender alice's Inbox.
3. With Postfix stopped the message stays queued (a recorded attempt and a
   connection error); once Postfix is back it is delivered on retry.
4. With tls_verify, a CA that did not issue the relay's certificate defers the
   message; the right CA file lets it through.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RAMPART_BIN, free_port, main, require, wait_for, wait_port  # noqa: E402
import postfix  # noqa: E402


def test(h):
    if not postfix.available():
        print("SKIP: needs Postfix and root")
        return
    lmtp_port = free_port()
    smtpd_port = free_port()

    pf = postfix.Postfix(h, smtpd_port=smtpd_port, tls=True)
    pf.main["transport_maps"] = "texthash:" + pf.write_map(
        "transport", {"local.test": f"lmtp:inet:127.0.0.1:{lmtp_port}"})
    pf.main["virtual_alias_maps"] = "texthash:" + pf.write_map(
        "virtual", {"carol@remote.test": "bob@local.test"})
    access = pf.write_map("recipient_access", {
        "nobody@rejected.test": "550 5.1.1 no such user"})
    pf.main["smtpd_recipient_restrictions"] = (
        f"check_recipient_access texthash:{access}, permit_mynetworks, reject_unauth_destination")

    config = h.write("server.toml", f"""
data_dir = "{h.path('data')}"
hostname = "mail.local.test"
local_domains = ["local.test"]
log_level = "debug"
threads = 2

[lmtp]
listen = "127.0.0.1:{lmtp_port}"

[relay]
host = "127.0.0.1"
port = {smtpd_port}
tls = "required"
helo_name = "mail.local.test"
connect_timeout = "2s"
greeting_timeout = "10s"
command_timeout = "10s"
data_timeout = "20s"
retry_initial = "1s"
retry_factor = 2
retry_max_interval = "2s"
max_age = "1h"
poll_interval = "200ms"
""")
    for user in ("alice", "bob"):
        h.rampart("admin", "--config", config, "user", "add", user, "--address", f"{user}@local.test",
                  "--password-stdin", input="secret-" + user + "\n")

    def inbox(user):
        r = h.rampart("admin", "--config", config, "mailbox", "list", user, check=False)
        return r.stdout if r.returncode == 0 else ""

    def find_item(user, subject, timeout=60):
        def look():
            for line in inbox(user).splitlines():
                if subject in line:
                    return line.split()[0]
            return None
        return wait_for(look, timeout=timeout, what=f"'{subject}' in {user}'s Inbox")

    def show(user, item):
        return h.rampart("admin", "--config", config, "mailbox", "show", user, item).stdout

    def send(to, subject, sender="alice@local.test"):
        msg = (f"From: Alice <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
               f"Message-ID: <{subject.replace(' ', '-')}@local.test>\r\n\r\n"
               f"Body of {subject}.\r\n.a line starting with a dot\r\n")
        r = h.rampart("admin", "--config", config, "mail", "send", "--from", sender, "--to", to,
                      input=msg)
        require(re.match(r"queued \d+", r.stdout), f"unexpected output: {r.stdout!r}")
        return r.stdout.split()[1]

    def queue():
        return h.rampart("admin", "--config", config, "mail", "queue").stdout

    try:
        pf.start()
        server = h.start([RAMPART_BIN, "server", "--config", config], "server")
        wait_port(lmtp_port, proc=server)

        # 1. Out through Postfix over STARTTLS, back in through our LMTP.
        send("carol@remote.test", "via postfix relay")
        item = find_item("bob", "via postfix relay")
        bytes_ = show("bob", item)
        require("Body of via postfix relay." in bytes_, "body did not arrive intact")
        require(".a line starting with a dot" in bytes_ and "..a line" not in bytes_,
                "dot-stuffing was not undone")
        require(re.search(r"Received: from mail\.local\.test .*\(using TLSv1\.[23]", bytes_, re.S),
                "no TLS in Postfix's Received header:\n" + bytes_[:1500])
        pf.wait_log("TLS connection established from localhost[127.0.0.1]")
        wait_for(lambda: "0 entries" in queue(), timeout=10, what="an empty queue")

        # 2. Refused by the relay: a DSN lands in alice's Inbox.
        send("nobody@rejected.test", "doomed message")
        item = find_item("alice", "Undelivered Mail Returned to Sender")
        dsn = show("alice", item)
        for needle in ("multipart/report; report-type=delivery-status",
                       "Content-Type: message/delivery-status",
                       "Reporting-MTA: dns; mail.local.test",
                       "Final-Recipient: rfc822; nobody@rejected.test",
                       "Action: failed",
                       "Status: 5.1.1",
                       "Diagnostic-Code: smtp; 550 5.1.1 <nobody@rejected.test>",
                       "Content-Type: text/rfc822-headers",
                       "Subject: doomed message"):
            require(needle in dsn, f"DSN lacks {needle!r}:\n{dsn}")
        require("Body of doomed message" not in dsn, "the DSN must carry headers only")
        wait_for(lambda: "0 entries" in queue(), timeout=10, what="an empty queue after the bounce")

        # 3. Relay down: the message waits, with its error recorded; then retried.
        pf.stop()
        send("carol@remote.test", "after retry")
        wait_for(lambda: re.search(r"connect 127\.0\.0\.1:\d+: Connection refused", queue()),
                 timeout=20, what="a recorded connection failure in the queue")
        require("after retry" not in inbox("bob"), "delivered while the relay was down?")
        pf.start()
        find_item("bob", "after retry", timeout=60)
        wait_for(lambda: "0 entries" in queue(), timeout=10, what="an empty queue after the retry")

        slog = h.log(server)
        require("Body of" not in slog, "a message body leaked into the server log")
        require(h.stop(server) == 0, "the server did not stop cleanly")

        # 4. tls_verify: a CA that did not sign the relay's certificate defers the
        #    message; the relay's own certificate as the anchor lets it through.
        other = h.path("other-ca.pem")
        h.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-days", "2", "-subj", "/CN=someone-else", "-keyout", h.path("other-key.pem"),
               "-out", other])
        base_config = open(config).read()

        def restart(extra):
            with open(config, "w") as f:
                f.write(base_config + extra)
            proc = h.start([RAMPART_BIN, "server", "--config", config], "server-verify")
            wait_port(lmtp_port, proc=proc)
            return proc

        server = restart(f'tls_verify = true\nca_file = "{other}"\n')
        send("carol@remote.test", "verified relay")
        wait_for(lambda: re.search(r"TLS handshake: .*certificate verify failed", queue()),
                 timeout=20, what="a certificate verification failure in the queue")
        require("verified relay" not in inbox("bob"), "delivered to an unverified relay")
        require(h.stop(server) == 0, "the server did not stop cleanly")
        server = restart(f'tls_verify = true\nca_file = "{pf.cert_path}"\n')
        find_item("bob", "verified relay", timeout=60)
        wait_for(lambda: "0 entries" in queue(), timeout=10, what="an empty queue after verification")
        require(h.stop(server) == 0, "the server did not stop cleanly")
    finally:
        postfix.stop_all(h)


if __name__ == "__main__":
    main(test)
