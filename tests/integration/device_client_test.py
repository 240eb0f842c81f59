"""The device client (`rampart device`) against `rampart up`: setup (Autodiscover,
OPTIONS, Provision, FolderSync), then sync, list, read, reply, send, move, delete and
watch over mail delivered with swaks over LMTP, checked through the device's output
and the server's store (`rampart admin mailbox ...`). Also: a wrong password is
"authentication failed", and a remote wipe ordered with `rampart admin device wipe`
erases the device's state file.

Server commands are wired one by one; the parts that need a command the server does
not list in MS-ASProtocolCommands yet are skipped with a "PENDING" line, so the lead
can see what passes. Set DEVICE_TEST_STRICT=1 to fail instead of skipping.
"""
import base64
import http.client
import os
import re
import signal
import ssl
import stat

from harness import RAMPART_BIN, Harness, main, require, wait_for

STRICT = os.environ.get("DEVICE_TEST_STRICT") == "1"


def swaks(h, port, to, subject, body, sender="bob@example.test"):
    r = h.run(["swaks", "--protocol", "LMTP", "--server", f"127.0.0.1:{port}", "--helo", "client.test",
               "--from", sender, "--to", to, "--header", f"Subject: {subject}",
               "--header", f"From: Bob <{sender}>", "--body", body, "--timeout", "30"], check=False)
    require(r.returncode == 0 and "250" in r.stdout, f"swaks failed: {r.stdout}{r.stderr}")


def server_commands(data, port, password):
    ctx = ssl.create_default_context(cafile=f"{data}/tls/dev-ca.crt")
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
    token = base64.b64encode(f"alice:{password}".encode()).decode()
    conn.request("OPTIONS", "/Microsoft-Server-ActiveSync", headers={"Authorization": "Basic " + token})
    res = conn.getresponse()
    res.read()
    conn.close()
    return set((res.getheader("MS-ASProtocolCommands") or "").split(","))


def test(h: Harness):
    data = h.path("data")
    proc = h.start([RAMPART_BIN, "up", "--data-dir", data, "--lmtp-port", "0",
                    "--admin-port", "0", "--eas-port", "0", "--link-port", "0", "--gateway-admin-port", "0",
                    "--est-link-port", "0", "--pki-port", "0", "--rights-link-port", "0"], "up")
    port = int(wait_for(lambda: (m := re.search(r"EAS \(HTTPS\)\s+https://localhost:(\d+)/", h.log(proc)))
                        and m.group(1), timeout=60, what="the EAS port"))
    lmtp = int(wait_for(lambda: (m := re.search(r"LMTP \(mail in\)\s+127\.0\.0\.1:(\d+)", h.log(proc)))
                        and m.group(1), timeout=60, what="the LMTP port"))
    users = open(f"{data}/demo-users.txt").read()
    password = users.split("alice alice@example.test ")[1].split()[0]
    pw_file = h.write("alice.pw", password + "\n", mode=0o600)
    state = h.path("alice-device.db")
    ca = f"{data}/tls/dev-ca.crt"
    url = f"https://127.0.0.1:{port}"
    commands = server_commands(data, port, password)
    print("server commands:", ",".join(sorted(commands)))
    pending = []

    def have(*names):
        missing = [n for n in names if n not in commands]
        if missing:
            msg = f"PENDING: needs {', '.join(missing)} on the server"
            if STRICT:
                raise AssertionError(msg)
            pending.append(msg)
            print(msg)
            return False
        return True

    def device(*args, check=True, state_file=None, timeout=120):
        return h.rampart("device", "--state", state_file or state, *args, check=check, timeout=timeout)

    # A wrong password: a clear message, a non-zero exit, no state written.
    bad_pw = h.write("bad.pw", "not-the-password\n", mode=0o600)
    r = device("setup", "--url", url, "--user", "alice", "--password-file", bad_pw, "--ca", ca,
               check=False, state_file=h.path("bad.db"))
    require(r.returncode == 1 and "authentication failed" in r.stderr, f"wrong password: {r.returncode} {r.stderr}")
    # The password is never accepted on the command line.
    r = device("setup", "--url", url, "--user", "alice", "--password", password, check=False,
               state_file=h.path("bad.db"))
    require(r.returncode == 2 and password not in r.stderr, f"--password refused: {r.returncode} {r.stderr}")
    # An untrusted server certificate (no --ca: the system store) is refused.
    r = device("setup", "--url", url, "--user", "alice", "--password-file", pw_file, check=False,
               state_file=h.path("bad.db"))
    require(r.returncode == 1, f"untrusted certificate accepted: {r.stdout} {r.stderr}")

    # Setup: Autodiscover (skipped if the server has none), OPTIONS, Provision, FolderSync.
    r = device("setup", "--url", url, "--user", "alice", "--password-file", pw_file, "--ca", ca,
               "--device-id", "RAMPARTDEV01", "--device-type", "RampartTest", "--autodiscover", "alice@example.test")
    require("autodiscover:" in r.stdout and "protocol 16.1, provisioned, 5 folders" in r.stdout, r.stdout)
    mode = stat.S_IMODE(os.stat(state).st_mode)
    require(mode == 0o600, f"state file mode {oct(mode)}")
    require(password not in r.stdout + r.stderr, "the password was printed")
    listing = h.rampart("admin", "--data-dir", data, "device", "list", "alice").stdout
    require("RAMPARTDEV01" in listing and "provisioned=yes" in listing and "Rampart Device" in listing, listing)
    r = device("folders")
    for name in ["Inbox", "Drafts", "Deleted Items", "Sent Items", "Outbox"]:
        require(name in r.stdout, f"{name} in {r.stdout}")

    swaks(h, lmtp, "alice@example.test", "first message", "Hello Alice,\nthis is the first one.")
    swaks(h, lmtp, "alice@example.test", "second message", "Second body.")

    if have("Sync"):
        r = device("sync")
        require("Inbox: 2 new" in r.stdout, r.stdout)
        r = device("list")
        lines = [l for l in r.stdout.splitlines()[1:] if l.strip()]
        require(len(lines) == 2, r.stdout)
        ids = {re.search(r"(first|second) message", l).group(1): l.split()[0] for l in lines}
        require(all(" N " in l for l in lines), f"both unread: {r.stdout}")
        require("bob@example.test" in r.stdout, r.stdout)

        # read: headers + text (ItemOperations Fetch, or Sync Fetch where the
        # server has no ItemOperations); marked read on the server (Sync Change).
        r = device("read", ids["first"])
        require("Subject: first message" in r.stdout and "this is the first one." in r.stdout, r.stdout)
        server = h.rampart("admin", "--data-dir", data, "mailbox", "list", "alice").stdout
        first_line = [l for l in server.splitlines() if "first message" in l][0]
        require(" N " not in first_line, f"read on the server: {server}")
        require(" N " not in [l for l in device("list").stdout.splitlines() if "first message" in l][0],
                "read locally")

        if have("SmartReply"):
            r = device("reply", ids["first"], "--body", "Thanks!")
            require("replied" in r.stdout, r.stdout)
            sent = h.rampart("admin", "--data-dir", data, "mailbox", "list", "alice", "--folder", "Sent Items").stdout
            require("Re: first message" in sent, f"the reply in Sent Items: {sent}")

        if have("SendMail"):
            r = device("send", "--to", "alice@example.test", "--subject", "note to self", "--body", "from the device")
            require("sent" in r.stdout, r.stdout)
            wait_for(lambda: "note to self" in h.rampart("admin", "--data-dir", data, "mailbox", "list", "alice").stdout,
                     timeout=30, what="the sent message delivered to the Inbox")

        if have("SmartForward"):
            r = device("forward", ids["second"], "--to", "bob@example.test", "--body", "FYI")
            require("forwarded" in r.stdout, r.stdout)

        if have("MoveItems"):
            r = device("move", ids["second"], "--to-folder", "Drafts")
            require("moved" in r.stdout, r.stdout)
            drafts = h.rampart("admin", "--data-dir", data, "mailbox", "list", "alice", "--folder", "Drafts").stdout
            require("second message" in drafts, f"moved on the server: {drafts}")
            r = device("list", "--folder", "Drafts")
            require(ids["second"] in [l.split()[0] for l in r.stdout.splitlines()[1:] if l.strip()],
                    f"the moved message keeps its local id: {r.stdout}")

        r = device("delete", ids["first"])
        require("deleted" in r.stdout, r.stdout)
        inbox = h.rampart("admin", "--data-dir", data, "mailbox", "list", "alice").stdout
        require("first message" not in inbox, f"deleted on the server: {inbox}")
        require("first message" not in device("list").stdout, "deleted locally")

        r = device("read", "999", check=False)
        require(r.returncode == 1 and "no message 999" in r.stderr, r.stderr)

        if have("Ping"):
            # watch: a Ping loop; new mail arrives while it waits.
            watcher = h.start([RAMPART_BIN, "device", "--state", state, "watch", "--heartbeat", "120",
                               "--count", "2"], "watch")
            wait_for(lambda: "watching Inbox" in h.log(watcher), timeout=60, what="watch to start")
            swaks(h, lmtp, "alice@example.test", "pushed one", "push 1")
            wait_for(lambda: "new: Inbox" in h.log(watcher) and "pushed one" in h.log(watcher),
                     timeout=60, what="the first pushed message")
            swaks(h, lmtp, "alice@example.test", "pushed two", "push 2")
            require(watcher.wait(timeout=90) == 0, f"watch exited {watcher.returncode}: {h.log(watcher)}")
            log = h.log(watcher)
            require(re.search(r"^new: Inbox .*bob@example\.test.* pushed one$", log, re.M), log)
            require("pushed two" in log, log)

    # Remote wipe: the server answers the next command with 142, Provision with
    # RemoteWipe; the device acknowledges and erases its state.
    h.rampart("admin", "--data-dir", data, "device", "wipe", "alice", "RAMPARTDEV01")
    r = device("folders", check=False)
    require(r.returncode == 3 and "remote wipe" in r.stderr, f"wipe: {r.returncode} {r.stderr}")
    require(not os.path.exists(state), "the state file was erased")
    listing = h.rampart("admin", "--data-dir", data, "device", "list", "alice").stdout
    require("wiped" in listing, listing)
    r = device("list", check=False)
    require(r.returncode == 1 and "setup" in r.stderr, r.stderr)

    proc.send_signal(signal.SIGTERM)
    require(proc.wait(timeout=30) == 0, f"rampart up exited {proc.returncode}")
    if pending:
        print("\n".join(["device_client_test: parts skipped until the server wires them:"] + pending))


if __name__ == "__main__":
    main(test)
