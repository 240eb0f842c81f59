"""`rampart up`, the README's main job: first start writes its config and demo
users, mail delivered with swaks lands in alice's Inbox, /healthz and /metrics
answer, SIGTERM stops it cleanly, and a second start keeps users and mail."""
import base64
import http.client
import re
import signal
import ssl
import urllib.request

from harness import RAMPART_BIN, Harness, main, require, wait_for


def banner_value(h, proc, pattern):
    return wait_for(lambda: (m := re.search(pattern, h.log(proc))) and m.group(1),
                    timeout=60, what=f"'{pattern}' in rampart up's output")


def start_up(h, data, name):
    proc = h.start([RAMPART_BIN, "up", "--data-dir", data,
                    "--lmtp-port", "0", "--admin-port", "0", "--eas-port", "0", "--link-port", "0", "--gateway-admin-port", "0",
                    "--est-link-port", "0", "--pki-port", "0", "--rights-link-port", "0"], name)
    lmtp = banner_value(h, proc, r"LMTP \(mail in\)\s+(127\.0\.0\.1:\d+)")
    admin = banner_value(h, proc, r"health/metrics\s+(http://127\.0\.0\.1:\d+)/healthz")
    eas = banner_value(h, proc, r"EAS \(HTTPS\)\s+https://localhost:(\d+)/")
    return proc, lmtp, admin, int(eas)


def eas_request(data, port, method, user=None, password=None, path="/Microsoft-Server-ActiveSync",
                body=None):
    """One request over TLS, verifying the server against the development CA.
    A body goes as WBXML (the gateway refuses an EAS command without one)."""
    ctx = ssl.create_default_context(cafile=f"{data}/tls/dev-ca.crt")
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
    headers = {}
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = "Basic " + token
    if body is not None:
        headers["Content-Type"] = "application/vnd.ms-sync.wbxml"
        headers["MS-ASProtocolVersion"] = "14.1"
    conn.request(method, path, body=body, headers=headers)
    res = conn.getresponse()
    res.read()
    conn.close()
    return res


def check_eas(data, port, password):
    ok = eas_request(data, port, "OPTIONS", "alice", password)
    require(ok.status == 200, f"OPTIONS with the right password: {ok.status}")
    require(ok.getheader("MS-ASProtocolVersions") == "12.1,14.0,14.1,16.0,16.1", ok.getheaders())
    commands = set((ok.getheader("MS-ASProtocolCommands") or "").split(","))
    for needed in ("Sync", "Ping", "FolderSync", "Provision", "SendMail", "ItemOperations", "MoveItems"):
        require(needed in commands, f"MS-ASProtocolCommands lists {needed}: {sorted(commands)}")
    again = eas_request(data, port, "OPTIONS", "alice@example.test", password)
    require(again.status == 200, f"user@domain logs in too: {again.status}")
    for user, pw in [("alice", "wrong"), ("nobody", "x"), (None, None)]:
        bad = eas_request(data, port, "OPTIONS", user, pw)
        require(bad.status == 401, f"{user}: {bad.status}")
        require(bad.getheader("WWW-Authenticate", "").startswith("Basic "), "401 carries a challenge")
    require(eas_request(data, port, "GET", "alice", password, "/elsewhere").status == 404, "other paths 404")
    # MeetingResponse is a known command we do not implement: 501 once the User check passes.
    base = "/Microsoft-Server-ActiveSync?Cmd=MeetingResponse&DeviceId=ABC123&DeviceType=SmartPhone&User="
    for who, status in [("alice", 501), ("alice@example.test", 501), ("bob", 403), ("bob@example.test", 403)]:
        got = eas_request(data, port, "POST", "alice", password, base + who, body=b"\x03\x01\x6a\x00").status
        require(got == status, f"POST as alice with User={who}: {got}, expected {status}")
    bad = eas_request(data, port, "POST", "alice", password, "/Microsoft-Server-ActiveSync?Cmd=Nope&User=alice")
    # The gateway refuses it before the server sees it: 501 for the unknown Cmd.
    require(bad.status in (400, 501), f"a malformed request line is refused: {bad.status}")
    # TLS 1.1 is refused outright.
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(f"{data}/tls/dev-ca.crt")
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        conn = http.client.HTTPSConnection("localhost", port, context=old, timeout=10)
        conn.request("OPTIONS", "/Microsoft-Server-ActiveSync")
        conn.getresponse()
        raise AssertionError("a TLS 1.1 handshake succeeded")
    except (ssl.SSLError, ConnectionError, OSError):
        pass


def test(h: Harness):
    data = h.path("data")
    proc, lmtp, admin, eas = start_up(h, data, "up-first")
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

    alice_password = users.split("alice alice@example.test ")[1].split()[0]
    check_eas(data, eas, alice_password)

    proc.send_signal(signal.SIGTERM)
    require(proc.wait(timeout=30) == 0, f"rampart up exited {proc.returncode}")

    # Second start: same config, no new users, mail still there.
    proc2, _, _, _ = start_up(h, data, "up-second")
    require(open(f"{data}/demo-users.txt").read() == users, "demo users kept")
    listing = h.rampart("admin", "--data-dir", data, "mailbox", "list", "alice").stdout
    require("up test" in listing, listing)
    proc2.send_signal(signal.SIGTERM)
    require(proc2.wait(timeout=30) == 0, "second stop")


if __name__ == "__main__":
    main(test)
