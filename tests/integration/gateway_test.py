"""The edge gateway in front of the mail server, as `rampart up` runs it:

- a good password goes through (the server's own OPTIONS answer comes back,
  so the delegated identity was accepted); wrong, unknown or missing
  credentials get 401 + WWW-Authenticate from the gateway and never reach the
  backend (its request counter does not move);
- the mail server's bridged link refuses a client without the gateway's
  certificate (TLS), and, with the certificate, a request without or with a
  forged identity assertion (403);
- the smuggling corpus (tests/data/smuggling/*.http) is refused, each case
  with the status its file name names, and none reaches the backend;
- SNI and Host must agree (421), ambiguous paths are refused (400), EAS checks
  run before authentication (unknown Cmd 501, bad DeviceId 400);
- slowhttptest's slow headers, slow body and slow read attacks, bounded in
  time, run while a legitimate client on another source address keeps working,
  and the gateway's deadlines cut the attackers' connections;
- the OCSP response configured for the certificate is stapled;
- /metrics and /connections on the admin listener, one access-log line per
  request without the password."""
import base64
import glob
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

from harness import RAMPART_BIN, SOURCE_DIR, Harness, main, require, wait_for


def banner(h, proc, pattern):
    return wait_for(lambda: (m := re.search(pattern, h.log(proc))) and m.group(1),
                    timeout=60, what=f"'{pattern}' in rampart up's output")


def start_up(h, data, name):
    proc = h.start([RAMPART_BIN, "up", "--data-dir", data, "--lmtp-port", "0", "--admin-port", "0",
                    "--eas-port", "0", "--link-port", "0", "--gateway-admin-port", "0",
                    "--est-link-port", "0", "--pki-port", "0", "--rights-link-port", "0"], name)
    eas = int(banner(h, proc, r"EAS \(HTTPS\)\s+https://localhost:(\d+)/"))
    admin = banner(h, proc, r"gateway admin\s+(http://127\.0\.0\.1:\d+)/metrics")
    link = int(banner(h, proc, r"mail server\s+https://127\.0\.0\.1:(\d+)"))
    return proc, eas, admin, link


def tls_context(data, cert=None):
    ctx = ssl.create_default_context(cafile=f"{data}/tls/dev-ca.crt")
    if cert:
        ctx.load_cert_chain(f"{data}/tls/{cert}.crt", f"{data}/tls/{cert}.key")
    return ctx


def request(data, port, method, path, user=None, password=None, headers=None, body=None,
            host="localhost", sni="localhost", source="127.0.0.1", cert=None):
    ctx = tls_context(data, cert)
    if sni != "localhost":
        ctx.check_hostname = False
    conn = http.client.HTTPSConnection(sni, port, context=ctx, timeout=30, source_address=(source, 0))
    conn._create_connection = lambda addr, timeout, src: socket.create_connection(("127.0.0.1", port), timeout, src)
    hdrs = {"Host": host}
    if user is not None:
        hdrs["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    hdrs.update(headers or {})
    conn.request(method, path, body=body, headers=hdrs)
    res = conn.getresponse()
    res.body = res.read()
    conn.close()
    return res


def metric(admin, name):
    import urllib.request
    text = urllib.request.urlopen(admin + "/metrics", timeout=10).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def raw_exchange(data, port, raw):
    """Sends raw bytes over TLS; returns the status of the first answer (0 if none)."""
    ctx = tls_context(data)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(raw)
            got = b""
            try:
                while b"\r\n" not in got:
                    chunk = t.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except (socket.timeout, ssl.SSLError, ConnectionError):
                pass
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", got)
    return int(m.group(1)) if m else 0


def check_auth(data, eas, admin, password):
    before = metric(admin, "rampart_gateway_upstream_seconds_count")
    ok = request(data, eas, "OPTIONS", "/Microsoft-Server-ActiveSync", "alice", password)
    require(ok.status == 200, f"OPTIONS through the gateway: {ok.status} {ok.body}")
    require(ok.getheader("MS-ASProtocolVersions"), "the mail server's answer came back")
    require(ok.getheader("Server") == "rampart", ok.getheaders())
    for user, pw in [("alice", "wrong"), ("nobody", "x"), (None, None)]:
        bad = request(data, eas, "OPTIONS", "/Microsoft-Server-ActiveSync", user, pw)
        require(bad.status == 401, f"{user}: {bad.status}")
        require(bad.getheader("WWW-Authenticate", "").startswith('Basic realm="ActiveSync"'), bad.getheaders())
    after = metric(admin, "rampart_gateway_upstream_seconds_count")
    require(after == before + 1, f"only the good request reached the backend: {before} -> {after}")


def check_link(data, link):
    # No client certificate: the TLS handshake fails.
    try:
        res = request(data, link, "OPTIONS", "/Microsoft-Server-ActiveSync", "alice", "x")
        raise AssertionError(f"the link answered without a client certificate: {res.status}")
    except (ssl.SSLError, ConnectionError):
        pass
    # The gateway's certificate but no assertion, or a forged one: 403.
    no_assertion = request(data, link, "OPTIONS", "/Microsoft-Server-ActiveSync", cert="gateway-client")
    require(no_assertion.status == 403, f"no assertion: {no_assertion.status}")
    forged = "v1." + base64.urlsafe_b64encode(b"user=alice").decode().rstrip("=") + ".AAAA"
    bad = request(data, link, "OPTIONS", "/Microsoft-Server-ActiveSync", cert="gateway-client",
                  headers={"Rampart-Identity": forged})
    require(bad.status == 403, f"forged assertion: {bad.status}")


def check_hygiene(data, eas, admin, password):
    before = metric(admin, "rampart_gateway_upstream_seconds_count")
    cases = sorted(glob.glob(os.path.join(SOURCE_DIR, "tests", "data", "smuggling", "*.http")))
    require(len(cases) >= 20, f"the smuggling corpus is there: {len(cases)} cases")
    for path in cases:
        expected = int(os.path.basename(path)[:3])
        raw = open(path, "rb").read()
        got = raw_exchange(data, eas, raw)
        # The corpus is for the parser; through the gateway, a request that is
        # well-formed but unpublished or unauthenticated still never passes.
        require(got >= 400 or got == 0, f"{os.path.basename(path)}: answered {got}")
        if expected >= 400 and got not in (0, expected, 404, 401, 421):
            raise AssertionError(f"{os.path.basename(path)}: expected {expected}, got {got}")
    after = metric(admin, "rampart_gateway_upstream_seconds_count")
    require(after == before, f"no smuggling case reached the backend ({before} -> {after})")
    sni = request(data, eas, "OPTIONS", "/Microsoft-Server-ActiveSync", "alice", password, host="other.example")
    require(sni.status == 421, f"Host differs from SNI: {sni.status}")
    dots = request(data, eas, "OPTIONS", "/x/../Microsoft-Server-ActiveSync", "alice", password)
    require(dots.status == 400, f"dot-segments: {dots.status}")
    unknown = request(data, eas, "POST", "/Microsoft-Server-ActiveSync?Cmd=Bogus&User=alice&DeviceId=A1&DeviceType=T",
                      "alice", password, body=b"x", headers={"Content-Type": "application/vnd.ms-sync.wbxml"})
    require(unknown.status in (400, 501), f"unknown Cmd: {unknown.status}")
    bad_id = request(data, eas, "POST", "/Microsoft-Server-ActiveSync?Cmd=Sync&User=alice&DeviceId=a-b!&DeviceType=T",
                     "alice", password, body=b"x", headers={"Content-Type": "application/vnd.ms-sync.wbxml"})
    require(bad_id.status == 400, f"malformed DeviceId: {bad_id.status}")


def check_slow_attacks(h, data, eas, password):
    """slowhttptest from 127.0.0.1 while a real client works from 127.0.0.2."""
    if not shutil.which("slowhttptest"):
        raise AssertionError("slowhttptest is not installed (scripts/install-deps.sh)")
    failures = []
    stop = threading.Event()

    def legitimate():
        while not stop.is_set():
            try:
                r = request(data, eas, "OPTIONS", "/Microsoft-Server-ActiveSync", "alice", password,
                            source="127.0.0.2")
                if r.status != 200:
                    failures.append(r.status)
            except Exception as e:  # noqa: BLE001 - any failure counts
                failures.append(repr(e))
            time.sleep(0.3)

    worker = threading.Thread(target=legitimate)
    worker.start()
    url = f"https://localhost:{eas}/Microsoft-Server-ActiveSync"
    try:
        for mode in (["-H"], ["-B"], ["-X", "-k", "1", "-w", "1", "-y", "1", "-n", "30", "-z", "1"]):
            out = h.path("slow" + mode[0].strip("-"))
            subprocess.run(["slowhttptest", *mode, "-c", "300", "-r", "100", "-i", "5", "-l", "12",
                            "-t", "POST", "-u", url, "-p", "3", "-g", "-o", out],
                           capture_output=True, timeout=60)
            stats = open(out + ".csv").read().strip().splitlines()
            # Columns: seconds, closed, pending, connected, ...: the gateway's
            # deadlines must have closed attacking connections within the run.
            closed = max(int(line.split(",")[1]) for line in stats[1:])
            require(closed > 0, f"slowhttptest {mode[0]}: no connection was cut: {stats[-3:]}")
    finally:
        stop.set()
        worker.join()
    require(not failures, f"the legitimate client failed during the attacks: {failures[:5]}")


def make_staple(h, data):
    """An OCSP response for the gateway's certificate, signed by the dev CA
    (RFC 6960), for the gateway to staple (RFC 6066 8)."""
    tls = f"{data}/tls"
    serial = h.run(["openssl", "x509", "-in", f"{tls}/server.crt", "-noout", "-serial"]).stdout.strip().split("=")[1]
    subject = h.run(["openssl", "x509", "-in", f"{tls}/server.crt", "-noout", "-subject", "-nameopt", "compat"]).stdout.strip()[len("subject="):]
    h.write("ocsp/index.txt", f"V\t301231235959Z\t\t{serial}\tunknown\t{subject}\n")
    h.run(["openssl", "x509", "-in", f"{tls}/server.crt", "-out", h.path("ocsp/leaf.pem")])
    h.run(["openssl", "ocsp", "-issuer", f"{tls}/dev-ca.crt", "-cert", h.path("ocsp/leaf.pem"), "-no_nonce",
           "-reqout", h.path("ocsp/req.der")])
    h.run(["openssl", "ocsp", "-index", h.path("ocsp/index.txt"), "-rsigner", f"{tls}/dev-ca.crt",
           "-rkey", f"{tls}/dev-ca.key", "-CA", f"{tls}/dev-ca.crt", "-reqin", h.path("ocsp/req.der"),
           "-respout", h.path("ocsp/resp.der")])
    return h.path("ocsp/resp.der")


def check_staple(h, eas):
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{eas}", "-servername", "localhost",
                        "-status"], input="", capture_output=True, text=True, timeout=30)
    require("OCSP Response Status: successful" in r.stdout and "Cert Status: good" in r.stdout,
            f"the OCSP response is stapled: {r.stdout[-1500:]}")


def test(h: Harness):
    data = h.path("data")
    proc, eas, admin, link = start_up(h, data, "up")
    password = re.search(r"^alice \S+ (\S+)$", open(f"{data}/demo-users.txt").read(), re.M).group(1)
    check_auth(data, eas, admin, password)
    check_link(data, link)
    check_hygiene(data, eas, admin, password)
    # Tighter deadlines so the slow attacks are cut within the test's bounds.
    h.stop(proc)
    cfg = open(f"{data}/gateway.toml").read()
    cfg = cfg.replace("[listener]\n", "[listener]\nfirst_request_timeout = \"4s\"\nheader_timeout = \"4s\"\n"
                      "body_progress = \"3s\"\nwrite_progress = \"3s\"\nkeepalive_idle = \"5s\"\n")
    # ...and an OCSP response to staple.
    cfg = cfg.replace("[[certificate]]\n", f"[[certificate]]\nocsp_staple_file = \"{make_staple(h, data)}\"\n")
    open(f"{data}/gateway.toml", "w").write(cfg)
    proc, eas, admin, link = start_up(h, data, "up2")
    check_staple(h, eas)
    check_slow_attacks(h, data, eas, password)
    blocked = metric(admin, "rampart_gateway_blocked_total")
    require(blocked > 0, "the guards cut the slow connections")
    import urllib.request
    view = urllib.request.urlopen(admin + "/connections", timeout=10).read().decode()
    require("connections " in view and "state idle" in view, view)
    log = h.log(proc)
    require("status=200" in log and "rule=eas" in log, "access log lines")
    require(password not in log, "the password is never logged")
    require(h.stop(proc) == 0, "rampart up stops cleanly")


if __name__ == "__main__":
    main(test)
