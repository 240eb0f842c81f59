"""LMTP durability: "250" only after the message is durable.

Several clients deliver concurrently (one to three recipients per message);
every recipient that got "250" is recorded. The server is killed with SIGKILL
at a random moment mid-stream, restarted (SQLite recovers its WAL), and the
store must hold every acknowledged message for every acknowledged recipient,
and no partial message: each stored message is complete, byte for byte.

The client is a small raw-socket LMTP client, because smtplib.LMTP reads one
reply after DATA where LMTP sends one per recipient (RFC 2033 4.2).
"""
import random
import re
import socket
import sqlite3
import threading
import time

import harness
from harness import require, wait_for

DOMAIN = "durable.test"
USERS = [f"u{i}" for i in range(5)]
CLIENTS = 6


class Lmtp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.reply()  # greeting

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        while True:
            line = self.line()
            if len(line) < 4 or line[3] != "-":
                return line

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()


def message(msg_id, size):
    payload = "".join(random.choice("abcdefghij") for _ in range(70))
    lines = [f"Message-ID: <{msg_id}>", "From: load@remote.test", f"Subject: durability {msg_id}", ""]
    while sum(len(l) + 2 for l in lines) < size:
        lines.append(payload)
    lines.append(f"END {msg_id}")
    return ("\r\n".join(lines) + "\r\n").encode()


def client(port, tag, acked, stop):
    try:
        c = Lmtp(port)
        c.cmd("LHLO load.test")
        n = 0
        while not stop.is_set():
            n += 1
            msg_id = f"{tag}-{n}@load.test"
            rcpts = random.sample(USERS, random.randint(1, 3))
            if not c.cmd("MAIL FROM:<load@remote.test>").startswith("250"):
                return
            ok = [r for r in rcpts if c.cmd(f"RCPT TO:<{r}@{DOMAIN}>").startswith("250")]
            if not c.cmd("DATA").startswith("354"):
                return
            data = message(msg_id, random.randint(200, 20000))
            c.sock.sendall(data + b".\r\n")
            for r in ok:
                reply = c.reply()
                if reply.startswith("250"):
                    acked.append((msg_id, r))  # list.append is atomic in CPython
    except (OSError, ConnectionError):
        return  # the server was killed


def start(h, cfg, port):
    proc = h.start([harness.RAMPART_BIN, "server", "--config", cfg], "server")
    harness.wait_port(port, proc=proc)
    return proc


def test(h):
    port = harness.free_port()
    cfg = h.write("server.toml", f"""
data_dir = "{h.path('data')}"
local_domains = ["{DOMAIN}"]
log_level = "warn"
threads = 2
[lmtp]
listen = "127.0.0.1:{port}"
""")
    for u in USERS:
        h.rampart("admin", "--config", cfg, "user", "add", u, "--address", f"{u}@{DOMAIN}",
                  "--password-stdin", input="secret-password\n")

    proc = start(h, cfg, port)
    acked, stop = [], threading.Event()
    threads = [threading.Thread(target=client, args=(port, f"c{i}", acked, stop)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 20, timeout=60, what="some acknowledged deliveries")
    time.sleep(random.uniform(0.2, 1.5))
    h.kill(proc)  # SIGKILL, mid-stream
    stop.set()
    for t in threads:
        t.join(timeout=60)
    acked_now = list(acked)
    print(f"{len(acked_now)} recipient acknowledgements before the kill")

    # Restart: the store recovers; then stop it cleanly and read the file.
    proc = start(h, cfg, port)
    require(h.stop(proc) == 0, "restarted server did not stop cleanly")

    db = sqlite3.connect(f"file:{h.path('data', 'rampart.db')}?mode=ro", uri=True)
    rows = db.execute("SELECT mb.owner, m.id, m.bytes FROM items i JOIN mailboxes mb ON mb.id = i.mailbox "
                      "JOIN messages m ON m.id = i.message").fetchall()
    orphans = db.execute("SELECT count(*) FROM messages WHERE id NOT IN (SELECT message FROM items)").fetchone()[0]
    db.close()

    have = set()
    for owner, _, raw in rows:
        m = re.search(rb"Message-ID: <([^>]+)>", raw)
        require(m, f"stored message without its Message-ID: {raw[:300]!r}")
        msg_id = m.group(1).decode()
        # Complete: ends exactly with our last line, the whole body in between.
        require(raw.endswith(f"END {msg_id}\r\n".encode()), f"partial message {msg_id} for {owner}")
        have.add((msg_id, owner))
    missing = [a for a in acked_now if a not in have]
    require(not missing, f"{len(missing)} acknowledged deliveries lost, e.g. {missing[:5]}")
    require(orphans == 0, f"{orphans} messages stored without any item")
    print(f"{len(have)} deliveries in the store, every acknowledged one among them")


if __name__ == "__main__":
    harness.main(test)
