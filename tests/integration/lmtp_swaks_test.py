"""LMTP in with a real client: swaks --protocol LMTP against `rampart server`.

Multiple recipients with one reply each (RFC 2033 4.2), unknown and disabled
recipients refused, an over-size message refused with 552 for every recipient,
8-bit UTF-8 and RFC 2047 headers stored and summarised correctly. The store is
checked through the SQLite file, read-only.
"""
import os
import re
import sqlite3

import harness
from harness import require, wait_for

DOMAIN = "example.test"


def start_server(h, max_size="64KiB"):
    cfg = h.write("server.toml", f"""
data_dir = "{h.path('data')}"
hostname = "lmtp.{DOMAIN}"
local_domains = ["{DOMAIN}"]
log_level = "warn"
threads = 2
[lmtp]
listen = "127.0.0.1:0"
max_message_size = "{max_size}"
""")
    for name in ("alice", "bob", "carol"):
        h.rampart("admin", "--config", cfg, "user", "add", name, "--address", f"{name}@{DOMAIN}",
                  "--password-stdin", input="secret-password\n")
    h.rampart("admin", "--config", cfg, "user", "disable", "carol")
    proc = h.start([harness.RAMPART_BIN, "server", "--config", cfg], "server")

    def port():
        m = re.search(r"lmtp listening on 127\.0\.0\.1:(\d+)", h.log(proc))
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        return int(m.group(1)) if m else None

    return proc, wait_for(port, timeout=30, what="the 'lmtp listening' line")


def swaks(h, port, to, *extra):
    r = h.run(["swaks", "--protocol", "LMTP", "--server", f"127.0.0.1:{port}", "--helo", "client.test",
               "--from", "sender@remote.test", "--to", to, "--timeout", "30", *extra], check=False)
    return r.stdout + r.stderr


def stored(h):
    """(owner, message bytes, summary blob) for every item in the store."""
    db = sqlite3.connect(f"file:{h.path('data', 'rampart.db')}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT mb.owner, m.bytes, m.summary FROM items i JOIN mailboxes mb ON mb.id = i.mailbox "
            "JOIN messages m ON m.id = i.message ORDER BY i.id").fetchall()
    finally:
        db.close()


def test(h):
    proc, port = start_server(h)

    # Several recipients: one reply each after DATA; unknown and disabled refused at RCPT.
    out = swaks(h, port, f"alice@{DOMAIN},bob@{DOMAIN},nobody@{DOMAIN},carol@{DOMAIN}",
                "--header", "Subject: first")
    require(re.search(r"<\*\* +550 5\.1\.1 ", out), f"unknown recipient not refused with 550 5.1.1:\n{out}")
    require(re.search(r"<\*\* +550 5\.2\.1 ", out), f"disabled recipient not refused with 550:\n{out}")
    accepted = re.findall(r"<- +250 2\.0\.0 .*Message accepted for <(\S+)>", out)
    require(accepted == [f"alice@{DOMAIN}", f"bob@{DOMAIN}"], f"expected one 250 per recipient:\n{out}")

    rows = stored(h)
    require(sorted(r[0] for r in rows) == ["alice", "bob"], f"stored for {[r[0] for r in rows]}")
    require(rows[0][1] == rows[1][1], "both mailboxes should hold the same message")
    db = sqlite3.connect(f"file:{h.path('data', 'rampart.db')}?mode=ro", uri=True)
    require(db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1, "message stored more than once")
    db.close()
    require(rows[0][1].startswith(b"Received: from client.test (127.0.0.1)\r\n\tby lmtp." + DOMAIN.encode()),
            f"no Received: header: {rows[0][1][:200]!r}")

    # A foreign domain: 550 5.1.2.
    out = swaks(h, port, "someone@elsewhere.test")
    require(re.search(r"<\*\* +550 5\.1\.2 ", out), f"foreign domain not refused:\n{out}")

    # Over-size: 552 5.3.4 after DATA for each recipient, nothing stored.
    body = h.write("big.txt", ("x" * 76 + "\r\n") * 2000)  # ~156 KB > 64 KiB
    out = swaks(h, port, f"alice@{DOMAIN},bob@{DOMAIN}", "--body", "@" + body, "--header", "Subject: big")
    require(len(re.findall(r"<\*\* +552 5\.3\.4 ", out)) == 2, f"expected two 552 5.3.4 replies:\n{out}")
    require(len(stored(h)) == 2, "the over-size message was stored")

    # 8-bit UTF-8 body and header, and an RFC 2047 subject.
    subject = "=?UTF-8?B?" + "w6lsw6h2ZSDDoCBab8OrIOKCrA==" + "?="  # "élève à Zoë €"
    body_text = "Grüße aus Köln — ünïcödé\r\n"
    out = swaks(h, port, f"alice@{DOMAIN}", "--header", f"Subject: {subject}",
                "--header", "From: Zoë Ärger <sender@remote.test>", "--header", "MIME-Version: 1.0",
                "--header", "Content-Type: text/plain; charset=utf-8",
                "--header", "Content-Transfer-Encoding: 8bit", "--body", body_text)
    require(re.search(r"<- +250 2\.0\.0 ", out), f"8-bit message not accepted:\n{out}")
    rows = stored(h)
    require(len(rows) == 3, f"expected 3 items, got {len(rows)}")
    owner, raw, summary = rows[-1]
    require(owner == "alice", owner)
    require(body_text.encode() in raw, "8-bit body not stored verbatim")
    require("élève à Zoë €".encode() in summary, f"RFC 2047 subject not decoded in summary: {summary!r}")
    require("Zoë Ärger".encode() in summary, f"8-bit From not in summary: {summary!r}")

    require(h.stop(proc) == 0, f"server exit code {proc.returncode}")


if __name__ == "__main__":
    harness.main(test)
