"""`rampart up`, the README's main job: first start writes its config and demo
users, mail delivered with swaks lands in alice's Inbox, /healthz and /metrics
answer, SIGTERM stops it cleanly, and a second start keeps users and mail."""
import re
import signal
import urllib.request

from harness import RAMPART_BIN, Harness, main, require, wait_for


def banner_value(h, proc, pattern):
    return wait_for(lambda: (m := re.search(pattern, h.log(proc))) and m.group(1),
                    timeout=60, what=f"'{pattern}' in rampart up's output")


def start_up(h, data, name):
    proc = h.start([RAMPART_BIN, "up", "--data-dir", data,
                    "--lmtp-port", "0", "--admin-port", "0"], name)
    lmtp = banner_value(h, proc, r"LMTP \(mail in\)\s+(127\.0\.0\.1:\d+)")
    admin = banner_value(h, proc, r"health/metrics\s+(http://127\.0\.0\.1:\d+)/healthz")
    return proc, lmtp, admin


def test(h: Harness):
    data = h.path("data")
    proc, lmtp, admin = start_up(h, data, "up-first")
    out = h.log(proc)
    require("Try next" in out, "banner says what to try next")
    users = open(f"{data}/demo-users.txt").read()
    require("alice alice@example.test " in users and "bob bob@example.test " in users, users)

    host, port = lmtp.split(":")
    r = h.run(["swaks", "--protocol", "LMTP", "--server", host, "--port", port,
               "--from", "bob@example.test", "--to", "alice@example.test",
               "--header", "Subject: up test"])
    require("250 2.0.0" in r.stdout, r.stdout)
    listing = h.rampart("admin", "--data-dir", data, "mailbox", "list", "alice").stdout
    require("up test" in listing, listing)

    health = urllib.request.urlopen(admin + "/healthz", timeout=10)
    require(health.status == 200 and health.read() == b"ok\n", "healthz")
    metrics = urllib.request.urlopen(admin + "/metrics", timeout=10).read().decode()
    require("rampart_lmtp_sessions 0" in metrics, metrics)
    require("rampart_outbound_queue_messages 0" in metrics, metrics)

    proc.send_signal(signal.SIGTERM)
    require(proc.wait(timeout=30) == 0, f"rampart up exited {proc.returncode}")

    # Second start: same config, no new users, mail still there.
    proc2, _, _ = start_up(h, data, "up-second")
    require(open(f"{data}/demo-users.txt").read() == users, "demo users kept")
    listing = h.rampart("admin", "--data-dir", data, "mailbox", "list", "alice").stdout
    require("up test" in listing, listing)
    proc2.send_signal(signal.SIGTERM)
    require(proc2.wait(timeout=30) == 0, "second stop")


if __name__ == "__main__":
    main(test)
