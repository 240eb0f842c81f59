"""Pre-authentication at the edge gateway, end to end: `rampart gateway run`
as a real process, real authentication peers on loopback, and a backend that
echoes the headers it received (so the test sees exactly what was forwarded).

- LDAP (a real slapd): Basic with a good password passes, a wrong password or
  an unknown user gets 401 + WWW-Authenticate; the backend sees no
  Authorization header and the gateway's own X-Forwarded-For, never the
  client's X-Forwarded-For or Rampart-Identity; slapd down -> 503, back -> 200.
- basic+otp (built-in directory, native TOTP made by oathtool): password+code
  passes once; the same code again, or a wrong code, is refused; on EAS a
  device that passed with a code is remembered (password alone), another
  DeviceId is not.
- basic+radius (a real FreeRADIUS that requires Message-Authenticator): a good
  code passes, a bad one does not; an Access-Challenge is a 401 and the next
  attempt (the gateway keeps the State) passes.
- certificate (openssl CA, SAN e-mail mapped to the local part): with the
  certificate 200, without 403; revoked + new CRL + SIGHUP -> 403 with no
  restart.
- SIGHUP while a long-poll request is parked at the backend does not drop it.
- lockout: many failures from one address -> 429 + Retry-After there, while
  the same user from another address still gets in.
- the publish wizard refuses plain HTTP to a remote backend and appends a rule
  that `rampart gateway check` accepts.
"""
import base64
import http.client
import http.server
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse

from harness import RAMPART_BIN, Harness, free_port, main, require, wait_for

INSTALL_HINT = "is not installed: run scripts/install-deps.sh"
SLAPD = "/usr/sbin/slapd"
FREERADIUS = "/usr/sbin/freeradius"
LDAP_SUFFIX = "dc=example,dc=org"
RADIUS_SECRET = "rampart-gw-radius-secret"
EAS_PATH = "/Microsoft-Server-ActiveSync"
WBXML = "application/vnd.ms-sync.wbxml"


def need(path_or_name):
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    require(found and os.access(found, os.X_OK), f"{path_or_name} {INSTALL_HINT}")
    return found


# ---------------------------------------------------------------- the backend

class EchoBackend:
    """Plain HTTP on loopback: answers 200 with the request's headers as its
    body ("Name: value" lines); /slow... waits 5 s first. Records every request
    so a test can tell whether a refused one reached it."""

    def __init__(self):
        self.requests = []
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                backend.requests.append((self.command, self.path, dict(self.headers.items()), body))
                if self.path.startswith("/slow"):
                    time.sleep(5)
                out = "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_POST = do_OPTIONS = do_HEAD = answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def echoed_headers(body):
    """The backend's body back into a list of (lower-case name, value)."""
    out = []
    for line in body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(": ")
        out.append((name.lower(), value))
    return out


# ---------------------------------------------------------------------- PKI

OPENSSL_CNF = """\
[ ca ]
default_ca = testca
[ testca ]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/serial
crlnumber = {d}/crlnumber
certificate = {d}/ca.crt
private_key = {d}/ca.key
default_md = sha256
default_days = 2
default_crl_days = 2
policy = anything
unique_subject = no
[ anything ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[ client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = email:alice@example.test
"""


class Pki:
    """An ECDSA P-256 CA made with the openssl CLI (`openssl ca`, so that
    revocation and CRLs are the real tool's), a server certificate for
    localhost and a client certificate for alice@example.test."""

    def __init__(self, h):
        self.h = h
        self.dir = h.path("pki")
        os.makedirs(self.dir + "/newcerts")
        open(self.dir + "/index.txt", "w").close()
        open(self.dir + "/serial", "w").write("1000\n")
        open(self.dir + "/crlnumber", "w").write("1000\n")
        self.cnf = h.write("pki/openssl.cnf", OPENSSL_CNF.format(d=self.dir))
        self.ca = self.file("ca.crt")
        self.openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", self.file("ca.key"), "-out", self.ca, "-subj", "/CN=Rampart Gateway Test CA",
                     "-days", "2", "-extensions", "v3_ca")
        self.issue("server", "/CN=localhost", "server")
        self.issue("alice", "/CN=alice", "client")
        self.crl = self.file("ca.crl")
        self.gencrl()

    def file(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args):
        return self.h.run(["openssl", *args, "-config", self.cnf] if args[0] in ("req", "ca")
                          else ["openssl", *args])

    def issue(self, name, subject, extensions):
        self.openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", self.file(name + ".key"), "-out", self.file(name + ".csr"), "-subj", subject)
        self.openssl("ca", "-batch", "-notext", "-extensions", extensions, "-in", self.file(name + ".csr"),
                     "-out", self.file(name + ".crt"))

    def gencrl(self):
        self.openssl("ca", "-gencrl", "-out", self.crl)

    def revoke(self, name):
        self.openssl("ca", "-revoke", self.file(name + ".crt"))
        self.gencrl()


# ------------------------------------------------------------------ clients

def request(pki, port, method, path, user=None, password=None, headers=None, body=None,
            source="127.0.0.1", cert=None, timeout=30):
    """One request on a fresh TLS connection (no session resumption)."""
    ctx = ssl.create_default_context(cafile=pki.ca)
    if cert:
        ctx.load_cert_chain(pki.file(cert + ".crt"), pki.file(cert + ".key"))
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=timeout,
                                       source_address=(source, 0))
    conn._create_connection = lambda addr, t, src: socket.create_connection(("127.0.0.1", port), t, src)
    hdrs = {"Host": "localhost"}
    if user is not None:
        hdrs["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=body, headers=hdrs)
        res = conn.getresponse()
        res.body = res.read()
    finally:
        conn.close()
    return res


def expect(res, status, what):
    require(res.status == status, f"{what}: expected {status}, got {res.status} {res.body[:300]!r}")
    return res


def expect_challenge(res, what, realm="Rampart"):
    expect(res, 401, what)
    www = res.getheader("WWW-Authenticate", "")
    require(www.startswith(f'Basic realm="{realm}"'), f"{what}: WWW-Authenticate {www!r}")
    require(res.getheader("Location") is None, f"{what}: a 401, never a redirect")


def eas_request(pki, port, user, password, device, cmd="Sync"):
    query = urllib.parse.urlencode({"Cmd": cmd, "User": user, "DeviceId": device, "DeviceType": "TestPhone"})
    return request(pki, port, "POST", f"{EAS_PATH}?{query}", user, password, body=b"\x03\x01\x6a\x00",
                   headers={"Content-Type": WBXML, "MS-ASProtocolVersion": "14.1"})


# ------------------------------------------------------------------ gateway

def gateway_toml(h, pki, body):
    state = h.path("gw-state")
    os.makedirs(state, exist_ok=True)
    return f"""\
data_dir = "{state}"
log_level = "info"

[listener]
listen = "127.0.0.1:0"

[[certificate]]
names = ["localhost"]
cert_file = "{pki.file('server.crt')}"
key_file = "{pki.file('server.key')}"

{body}"""


def start_gateway(h, config_path, name):
    proc = h.start([RAMPART_BIN, "gateway", "run", "--config", config_path], name)

    def listening():
        if proc.poll() is not None:
            raise AssertionError(f"the gateway exited with {proc.returncode}:\n{h.log(proc)[-3000:]}")
        m = re.search(r"gateway listening on 127\.0\.0\.1:(\d+)", h.log(proc))
        return m and int(m.group(1))

    port = wait_for(listening, timeout=60, what="'gateway listening on' in the gateway's output")
    proc.port = port
    return proc


def stop_gateway(h, proc):
    code = h.stop(proc)
    require(code == 0, f"the gateway stopped with {code} (sanitizer report?):\n{h.log(proc)[-4000:]}")


def hup(h, proc, marker="reloaded:"):
    """SIGHUP, then waits for the reload to be logged (once more than before)."""
    before = h.log(proc).count(marker)
    os.kill(proc.pid, signal.SIGHUP)
    wait_for(lambda: h.log(proc).count(marker) > before, timeout=15, what="the gateway to log its reload")
    require("reload failed" not in h.log(proc) and "reload refused" not in h.log(proc), h.log(proc)[-2000:])


# --------------------------------------------------------------------- slapd

class Slapd:
    """OpenLDAP slapd with its own slapd.conf and mdb database in the temp dir,
    loaded with slapadd, listening on a free loopback port."""

    def __init__(self, h, users):
        self.h = h
        self.dir = h.path("slapd")
        os.makedirs(self.dir + "/db")
        self.port = free_port()
        self.conf = h.write("slapd/slapd.conf", f"""\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {self.dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{LDAP_SUFFIX}"
rootdn "cn=admin,{LDAP_SUFFIX}"
rootpw root-secret
directory {self.dir}/db
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
""")
        ldif = (f"dn: {LDAP_SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n"
                f"dn: ou=people,{LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: people\n")
        for uid, password in users.items():
            ldif += (f"\ndn: uid={uid},ou=people,{LDAP_SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
                     f"cn: {uid}\nsn: {uid}\nuserPassword: {password}\n")
        h.write("slapd/data.ldif", ldif)
        h.run([SLAPD, "-T", "add", "-f", self.conf, "-l", self.dir + "/data.ldif"])
        self.proc = None

    @property
    def uri(self):
        return f"ldap://127.0.0.1:{self.port}"

    def start(self):
        self.proc = self.h.start([SLAPD, "-f", self.conf, "-h", self.uri + "/", "-d", "0"], "slapd")

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"slapd exited with {self.proc.returncode}:\n{self.h.log(self.proc)}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_for(up, timeout=15, what="slapd to accept")

    def kill(self):
        Harness.kill(self.proc)
        self.proc = None


# ---------------------------------------------------------------- FreeRADIUS

def radiusd_conf(d, port):
    """FreeRADIUS 3.2: one client (127.0.0.1) that must sign its requests
    (Message-Authenticator, RFC 3579 3.2), users from a users file checked by
    pap, and carol, who is challenged for the next code (RFC 2865 4.4, State
    5.24) before she is accepted. Debian's 3.2.1 does not sign replies on its
    own, so each reply gets a Message-Authenticator that it then computes."""
    return f"""\
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = {d}
sbindir = /usr/sbin
logdir = {d}
raddbdir = {d}
radacctdir = {d}
name = freeradius
confdir = {d}
run_dir = {d}
db_dir = {d}
libdir = /usr/lib/freeradius
pidfile = {d}/radiusd.pid
max_request_time = 5
cleanup_delay = 0
max_requests = 64
hostname_lookups = no
log {{
  destination = stdout
  auth = no
}}
security {{
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}}
thread pool {{
  start_servers = 1
  max_servers = 2
  min_spare_servers = 1
  max_spare_servers = 2
}}
client localhost {{
  ipaddr = 127.0.0.1
  secret = {RADIUS_SECRET}
  require_message_authenticator = yes
  nas_type = other
}}
modules {{
  files {{
    filename = {d}/users
  }}
  pap {{
  }}
  always reject {{
    rcode = reject
  }}
  always handled {{
    rcode = handled
  }}
  always ok {{
    rcode = ok
  }}
}}
server default {{
  listen {{
    type = auth
    ipaddr = 127.0.0.1
    port = {port}
  }}
  authorize {{
    update reply {{
      Message-Authenticator := 0x00
    }}
    if (&User-Name == "carol") {{
      if (!&State) {{
        if (&User-Password == "111111") {{
          update reply {{
            Reply-Message := "Enter the next code"
            State := 0x6e6578742d636f6465
          }}
          update control {{
            Response-Packet-Type := Access-Challenge
          }}
          handled
        }}
        reject
      }}
      if (&State == 0x6e6578742d636f6465 && &User-Password == "654321") {{
        update control {{
          Auth-Type := Accept
        }}
        ok
      }}
      else {{
        reject
      }}
    }}
    else {{
      files
      pap
    }}
  }}
  post-auth {{
    Post-Auth-Type REJECT {{
      update reply {{
        Message-Authenticator := 0x00
      }}
    }}
  }}
  authenticate {{
    Auth-Type PAP {{
      pap
    }}
  }}
}}
"""


def start_freeradius(h):
    d = h.path("radius")
    os.makedirs(d)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h.write("radius/radiusd.conf", radiusd_conf(d, port))
    # dave's code is his RADIUS "password": the gateway sends the code alone.
    h.write("radius/users", 'dave Cleartext-Password := "123456"\n')
    proc = h.start([FREERADIUS, "-f", "-X", "-d", d], "freeradius")

    def ready():
        if proc.poll() is not None:
            raise AssertionError(f"freeradius exited with {proc.returncode}:\n{h.log(proc)[-4000:]}")
        return "Ready to process requests" in h.log(proc)

    wait_for(ready, timeout=30, what="freeradius to be ready")
    h.write("radius.secret", RADIUS_SECRET + "\n", mode=0o600)
    return proc, port


# ---------------------------------------------------------------------- TOTP

def totp(secret, offset=0):
    args = ["oathtool", "--totp", "-b", secret]
    if offset:
        args.insert(2, "--now=@%d" % int(time.time() + offset))
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


def otp_enrol(h, config_path, user):
    out = h.rampart("gateway", "otp", "add", user, "--config", config_path).stdout
    uri = urllib.parse.urlparse(out.strip())
    require(uri.scheme == "otpauth" and uri.netloc == "totp", f"otp add printed {out!r}")
    params = urllib.parse.parse_qs(uri.query)
    require(params.get("algorithm", ["SHA1"])[0] == "SHA1" and params.get("digits", ["6"])[0] == "6",
            f"a default generator is TOTP/SHA1/6 digits: {out!r}")
    return params["secret"][0]


def wrong_code(secret):
    """A code valid for no step near now."""
    near = {totp(secret, off) for off in (-60, -30, 0, 30, 60)}
    code = int(totp(secret))
    while f"{code:06d}" in near:
        code = (code + 1) % 1_000_000
    return f"{code:06d}"


# ------------------------------------------------------------------- checks

def check_ldap(h, pki, backend):
    slapd = Slapd(h, {"alice": "alice-ldap-pw", "bob": "bob-ldap-pw", "carol": "carol-ldap-pw"})
    slapd.start()
    cfg = h.write("gw-ldap.toml", gateway_toml(h, pki, f"""\
[auth]
directory = "ldap"
cache_ttl = "1s"

[auth.ldap]
uri = "{slapd.uri}"
user_dn_template = "uid={{user}},ou=people,{LDAP_SUFFIX}"
timeout = "2s"
pool_size = 2

[[rule]]
name = "web"
path = "/app"
methods = ["GET", "POST"]
auth = "basic"
realm = "Rampart"
backend = "127.0.0.1:{backend.port}"
backend_tls = false
"""))
    gw = start_gateway(h, cfg, "gateway-ldap")
    port = gw.port
    forged = "v1.eyJ1c2VyIjoiYWRtaW4ifQ.AAAA"
    seen = len(backend.requests)
    res = expect(request(pki, port, "GET", "/app/whoami", "alice", "alice-ldap-pw",
                         headers={"Rampart-Identity": forged, "X-Forwarded-For": "203.0.113.66",
                                  "Forwarded": "for=203.0.113.66"}),
                 200, "LDAP: alice with her password")
    got = echoed_headers(res.body)
    names = [n for n, _ in got]
    require("authorization" not in names, f"the credentials were forwarded: {got}")
    require("rampart-identity" not in names, f"a client's Rampart-Identity was forwarded: {got}")
    require("forwarded" not in names, f"a client's Forwarded header was forwarded: {got}")
    xff = [v for n, v in got if n == "x-forwarded-for"]
    require(xff == ["127.0.0.1"], f"X-Forwarded-For is the gateway's, once: {xff}")
    require(len(backend.requests) == seen + 1, "the good request reached the backend")

    seen = len(backend.requests)
    wrong = request(pki, port, "GET", "/app/x", "alice", "wrong")
    unknown = request(pki, port, "GET", "/app/x", "mallory", "alice-ldap-pw")
    expect_challenge(wrong, "LDAP: wrong password")
    expect_challenge(unknown, "LDAP: unknown user")
    # No user enumeration: the same answer for both.
    def answer(res):
        return res.body, sorted((k.lower(), v) for k, v in res.getheaders() if k.lower() != "date")

    require(answer(wrong) == answer(unknown),
            f"unknown user and wrong password answer alike: {wrong.getheaders()} / {unknown.getheaders()}")
    expect_challenge(request(pki, port, "GET", "/app/x"), "LDAP: no credentials")
    require(len(backend.requests) == seen, "refused requests never reach the backend")

    # slapd gone: not "wrong password" but "try later". bob has never bound
    # (nothing cached), and alice's cached bind has expired (cache_ttl 1 s).
    slapd.kill()
    time.sleep(1.5)
    expect(request(pki, port, "GET", "/app/x", "bob", "bob-ldap-pw"), 503, "LDAP down: bob")
    expect(request(pki, port, "GET", "/app/x", "alice", "alice-ldap-pw"), 503, "LDAP down: alice (cache expired)")
    require(len(backend.requests) == seen, "nothing reached the backend while LDAP was down")
    slapd.start()
    wait_for(lambda: request(pki, port, "GET", "/app/x", "carol", "carol-ldap-pw").status == 200,
             timeout=20, interval=0.5, what="a bind to succeed once slapd is back")
    expect(request(pki, port, "GET", "/app/x", "bob", "bob-ldap-pw"), 200, "LDAP back: bob")
    expect_challenge(request(pki, port, "GET", "/app/x", "bob", "not-bobs"), "LDAP back: wrong password")
    log = h.log(gw)
    for secret in ("alice-ldap-pw", "bob-ldap-pw", "carol-ldap-pw"):
        require(secret not in log, "a password was logged")
    stop_gateway(h, gw)
    slapd.kill()
    print("ok: LDAP basic, header hygiene, slapd down 503 / back 200")


def check_otp(h, pki, port, secrets):
    alice = secrets["alice"]
    code = totp(alice)
    expect(request(pki, port, "GET", "/otp/home", "alice", "alice-pw" + code), 200, "TOTP: password+code")
    # The same code, from another client: a replay.
    expect_challenge(request(pki, port, "GET", "/otp/home", "alice", "alice-pw" + code, source="127.0.0.2"),
                     "TOTP: the same code again")
    expect_challenge(request(pki, port, "GET", "/otp/home", "alice", "alice-pw" + wrong_code(alice)),
                     "TOTP: wrong code")
    expect_challenge(request(pki, port, "GET", "/otp/home", "alice", "alice-pw"), "TOTP: no code")
    expect_challenge(request(pki, port, "GET", "/otp/home", "alice", "bad-pw" + totp(alice, 30)),
                     "TOTP: wrong password with a fresh code")

    # EAS: a device that passed a second factor is remembered (Direct Push).
    bob = secrets["bob"]
    expect_challenge(eas_request(pki, port, "bob", "bob-pw", "DEV1"), "EAS: DEV1 before any code",
                     realm="ActiveSync")
    code = totp(bob)
    expect(eas_request(pki, port, "bob", "bob-pw" + code, "DEV1"), 200, "EAS: DEV1 with password+code")
    expect_challenge(eas_request(pki, port, "bob", "bob-pw" + code, "DEV2"),
                     "EAS: the same code replayed from DEV2", realm="ActiveSync")
    expect(eas_request(pki, port, "bob", "bob-pw", "DEV1"), 200, "EAS: remembered DEV1 with the password alone")
    expect(eas_request(pki, port, "bob", "bob-pw" + code, "DEV1"), 200,
           "EAS: remembered DEV1 still sending its old code")
    expect_challenge(eas_request(pki, port, "bob", "bob-pw", "DEV2"), "EAS: DEV2 with the password alone",
                     realm="ActiveSync")
    expect_challenge(eas_request(pki, port, "bob", "wrong", "DEV1"), "EAS: remembered DEV1, wrong password",
                     realm="ActiveSync")
    print("ok: basic+otp (TOTP, replay refused, remembered device)")


def check_radius(h, pki, port):
    expect(request(pki, port, "GET", "/radius/x", "dave", "dave-pw123456"), 200, "RADIUS: password+code")
    expect_challenge(request(pki, port, "GET", "/radius/x", "dave", "dave-pw999999"), "RADIUS: wrong code")
    expect_challenge(request(pki, port, "GET", "/radius/x", "dave", "wrong-pw123456"),
                     "RADIUS: wrong directory password")
    # Access-Challenge: 401 now; the next attempt carries the State back.
    expect_challenge(request(pki, port, "GET", "/radius/x", "carol", "carol-pw111111"), "RADIUS: challenged")
    expect(request(pki, port, "GET", "/radius/x", "carol", "carol-pw654321"), 200,
           "RADIUS: the next code after the challenge")
    # The State was used up: the same answer without a fresh challenge fails.
    expect_challenge(request(pki, port, "GET", "/radius/x", "carol", "carol-pw654321"),
                     "RADIUS: next code without a challenge")
    print("ok: basic+radius (accept, reject, Access-Challenge then accept)")


def check_certificate(h, pki, gw):
    port = gw.port
    res = expect(request(pki, port, "GET", "/cert/me", cert="alice"), 200, "certificate: alice's")
    require(not [n for n, _ in echoed_headers(res.body) if n.startswith("rampart-")], res.body)
    expect(request(pki, port, "GET", "/cert/me"), 403, "certificate: none")
    pki.revoke("alice")
    hup(h, gw)
    expect(request(pki, port, "GET", "/cert/me", cert="alice"), 403, "certificate: revoked, after SIGHUP")
    require(gw.poll() is None, "the gateway did not restart")
    print("ok: certificate (SAN e-mail), CRL reloaded by SIGHUP")


def check_reload_keeps_long_poll(h, pki, gw):
    result = {}

    def slow():
        try:
            started = time.monotonic()
            res = request(pki, gw.port, "GET", "/slow/wait", "erin", "erin-pw", timeout=60)
            result["status"] = res.status
            result["seconds"] = time.monotonic() - started
        except Exception as e:  # noqa: BLE001 - reported below
            result["error"] = repr(e)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(1.5)
    hup(h, gw)
    expect(request(pki, gw.port, "GET", "/app/x", "erin", "erin-pw"), 200, "a request right after the reload")
    t.join(timeout=60)
    require(result.get("status") == 200, f"the parked request across SIGHUP: {result}")
    require(result["seconds"] >= 4.5, f"it waited for the backend: {result}")
    # The connection that lived across the reload went on to its next request
    # (keep-alive wait) with the new config: the gateway must still be there.
    time.sleep(0.5)
    require(gw.poll() is None, f"the gateway died after a connection outlived a reload:\n{h.log(gw)[-5000:]}")
    expect(request(pki, gw.port, "GET", "/app/x", "erin", "erin-pw"), 200, "a request after the parked one")
    print(f"ok: SIGHUP during a parked request ({result['seconds']:.1f} s, 200)")


def check_lockout(h, pki, port):
    statuses = []
    for _ in range(40):
        res = request(pki, port, "GET", "/app/x", "erin", "guess", source="127.0.0.3")
        statuses.append(res.status)
        if res.status == 429:
            retry = res.getheader("Retry-After", "")
            require(retry.isdigit() and int(retry) > 0, f"429 with Retry-After: {retry!r}")
    require(set(statuses[:30]) == {401}, f"the first failures are 401: {statuses}")
    require(set(statuses[30:]) == {429}, f"then the address is locked out (429): {statuses}")
    # Locked: even the right password from that address.
    expect(request(pki, port, "GET", "/app/x", "erin", "erin-pw", source="127.0.0.3"), 429,
           "locked address, right password")
    # The user is not locked: from another address the password works.
    expect(request(pki, port, "GET", "/app/x", "erin", "erin-pw", source="127.0.0.4"), 200,
           "the same user from 127.0.0.4")
    print("ok: lockout (30 failures -> 429 + Retry-After; other address unaffected)")


def check_publish(h, pki, config_path):
    cfg = h.path("gw-publish.toml")
    shutil.copy(config_path, cfg)
    bad = h.rampart("gateway", "publish", "eas", "--config", cfg, "--backend", "10.0.0.1:443", "--plain-backend",
                    check=False)
    require(bad.returncode == 1, f"plain HTTP to a remote backend is refused: {bad.returncode} {bad.stdout}")
    require("plain HTTP" in bad.stderr and not bad.stdout.strip(), f"and says why: {bad.stderr!r}")
    shown = h.rampart("gateway", "publish", "eas", "--config", cfg, "--backend", "10.0.0.1:443",
                      "--backend-ca", pki.ca, "--name", "eas-published").stdout
    require('[[rule]]' in shown and 'path = "/Microsoft-Server-ActiveSync"' in shown
            and "backend_tls = true" in shown and 'auth = "basic"' in shown, shown)
    before = open(cfg).read()
    h.rampart("gateway", "publish", "eas", "--config", cfg, "--backend", "10.0.0.1:443",
              "--backend-ca", pki.ca, "--name", "eas-published", "--append")
    require(open(cfg).read().startswith(before) and shown.strip() in open(cfg).read(),
            "--append added the rule that was printed")
    checked = h.rampart("gateway", "check", "--config", cfg).stdout
    require(re.search(r"^eas-published: \*/Microsoft-Server-ActiveSync -> 10\.0\.0\.1:443 \(.*auth basic\)$",
                      checked, re.M), f"gateway check lists the new rule: {checked}")
    again = h.rampart("gateway", "publish", "eas", "--config", cfg, "--backend", "10.0.0.1:443",
                      "--backend-ca", pki.ca, "--name", "eas-published", check=False)
    require(again.returncode == 1, f"a second rule with the same name is refused: {again.returncode}")
    print("ok: publish wizard")


def test(h: Harness):
    for tool in (SLAPD, FREERADIUS, "oathtool", "openssl"):
        need(tool)
    require(os.path.exists("/etc/ldap/schema/inetorgperson.schema"), f"slapd's schemas: slapd {INSTALL_HINT}")
    require(RAMPART_BIN, "RAMPART_BIN is not set")
    started = time.monotonic()
    pki = Pki(h)
    backend = EchoBackend()
    try:
        check_ldap(h, pki, backend)

        # The built-in directory, as the mail server keeps it.
        data = h.path("mail-data")
        os.makedirs(data)
        for user in ("alice", "bob", "carol", "dave", "erin"):
            h.rampart("admin", "--data-dir", data, "user", "add", user, "--address", f"{user}@example.test",
                      "--password-stdin", input=f"{user}-pw\n")
        radius, radius_port = start_freeradius(h)
        # failure_free is raised so that the deliberate failures of the checks
        # below are not slowed by backoff (1 s doubling per failure); the IP
        # lockout keeps its default threshold of 30.
        cfg = h.write("gw-builtin.toml", gateway_toml(h, pki, f"""\
[limits]
failure_free = 100

[auth]
directory = "builtin"
directory_data_dir = "{data}"
remember_device = "1h"

[auth.client_cert]
ca_file = "{pki.ca}"
crl_files = ["{pki.crl}"]
mapping = "san_email_local"
domain = "example.test"

[auth.radius]
servers = ["127.0.0.1:{radius_port}"]
secret_file = "{h.path('radius.secret')}"
timeout = "2s"
retries = 1

[[rule]]
name = "app"
path = "/app"
methods = ["GET"]
auth = "basic"
backend = "127.0.0.1:{backend.port}"
backend_tls = false

[[rule]]
name = "otp"
path = "/otp"
methods = ["GET"]
auth = "basic+otp"
backend = "127.0.0.1:{backend.port}"
backend_tls = false

[[rule]]
name = "eas"
service = "eas"
path = "{EAS_PATH}"
methods = ["OPTIONS", "POST"]
auth = "basic+otp"
realm = "ActiveSync"
backend = "127.0.0.1:{backend.port}"
backend_tls = false

[[rule]]
name = "radius"
path = "/radius"
methods = ["GET"]
auth = "basic+radius"
backend = "127.0.0.1:{backend.port}"
backend_tls = false

[[rule]]
name = "cert"
path = "/cert"
methods = ["GET"]
auth = "certificate"
backend = "127.0.0.1:{backend.port}"
backend_tls = false

[[rule]]
name = "slow"
path = "/slow"
methods = ["GET"]
auth = "basic"
backend = "127.0.0.1:{backend.port}"
backend_tls = false
response_timeout = "2s"
long_poll_timeout = "30s"
"""))
        h.rampart("gateway", "check", "--config", cfg)
        secrets = {user: otp_enrol(h, cfg, user) for user in ("alice", "bob")}
        gw = start_gateway(h, cfg, "gateway-builtin")
        check_otp(h, pki, gw.port, secrets)
        check_radius(h, pki, gw.port)
        check_certificate(h, pki, gw)
        check_reload_keeps_long_poll(h, pki, gw)
        check_lockout(h, pki, gw.port)
        log = h.log(gw)
        for user in ("alice", "bob", "carol", "dave", "erin"):
            require(f"{user}-pw" not in log, f"{user}'s password was logged")
        require("status=200" in log and "rule=otp" in log, "access log lines")
        stop_gateway(h, gw)
        h.stop(radius)
        check_publish(h, pki, cfg)
    finally:
        backend.close()
    print(f"all checks in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main(test)
