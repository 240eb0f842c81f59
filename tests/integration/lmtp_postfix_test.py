"""A real MTA delivering into Rampart over LMTP: a private Postfix instance.

The test starts its own Postfix (own config_directory, queue_directory and
data_directory under a temporary directory, loopback only, no chroot, log to
a file), with a transport map that sends the test domain to
lmtp:inet:127.0.0.1:PORT where `rampart server` listens. Mail submitted to
Postfix's smtpd with swaks must arrive in our store, once per recipient.
Nothing outside the temporary directory is changed; the system's own Postfix
instance is neither used nor touched.
"""
import os
import pwd
import re
import sqlite3
import subprocess

import harness
from harness import require, wait_for

DOMAIN = "example.test"

MASTER_CF = """\
127.0.0.1:{smtp_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
config_directory = {dir}/etc
queue_directory = {dir}/queue
data_directory = {dir}/pfdata
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-rampart-test
maillog_file = {dir}/postfix.log
maillog_file_prefixes = {dir}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mta.postfix.test
mydomain = postfix.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
relay_domains = {domain}
transport_maps = inline:{{ {domain}=lmtp:inet:127.0.0.1:{lmtp_port} }}
smtpd_recipient_restrictions = permit_mynetworks, reject
smtp_host_lookup = native
lmtp_host_lookup = native
smtputf8_enable = no
biff = no
append_dot_mydomain = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


def stored(h):
    path = h.path("data", "rampart.db")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT mb.owner, m.bytes FROM items i JOIN mailboxes mb ON mb.id = i.mailbox "
                          "JOIN messages m ON m.id = i.message ORDER BY i.id").fetchall()
    finally:
        db.close()


def read_log(h):
    try:
        with open(h.path("postfix.log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def postfix(h, *args, check=True):
    return h.run(["postfix", "-c", h.path("etc"), *args], check=check, timeout=60)


def test(h):
    if os.geteuid() != 0:
        raise AssertionError("this test starts a private Postfix and needs root (as in CI)")
    # Postfix's own user must be able to reach its queue inside our temp dir.
    os.chmod(h.dir, 0o755)

    lmtp_port = harness.free_port()
    cfg = h.write("server.toml", f"""
data_dir = "{h.path('data')}"
hostname = "rampart.{DOMAIN}"
local_domains = ["{DOMAIN}"]
log_level = "info"
threads = 2
[lmtp]
listen = "127.0.0.1:{lmtp_port}"
""")
    for name in ("alice", "bob"):
        h.rampart("admin", "--config", cfg, "user", "add", name, "--address", f"{name}@{DOMAIN}",
                  "--password-stdin", input="secret-password\n")
    server = h.start([harness.RAMPART_BIN, "server", "--config", cfg], "server")
    harness.wait_port(lmtp_port, proc=server)

    smtp_port = harness.free_port()
    h.write("etc/main.cf", MAIN_CF.format(dir=h.dir, domain=DOMAIN, lmtp_port=lmtp_port))
    h.write("etc/master.cf", MASTER_CF.format(smtp_port=smtp_port))
    for d in ("queue", "pfdata"):
        os.makedirs(h.path(d), exist_ok=True)
    pf = pwd.getpwnam("postfix")
    os.chown(h.path("pfdata"), pf.pw_uid, pf.pw_gid)
    # Creates the queue subdirectories with Postfix's owners and modes. Postfix
    # reports errors to syslog (absent in a container) or a terminal, so on
    # failure the message is in the log file, if anywhere.
    r = postfix(h, "check", check=False)
    if r.returncode != 0:
        raise AssertionError(f"postfix check failed: {r.stderr}\n{read_log(h)}")
    started = False
    try:
        postfix(h, "start")
        started = True
        harness.wait_port(smtp_port, timeout=30)

        subject = "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_via_Postfix?="
        r = h.run(["swaks", "--server", f"127.0.0.1:{smtp_port}", "--helo", "client.test",
                   "--from", "sender@remote.test", "--to", f"alice@{DOMAIN},bob@{DOMAIN}",
                   "--header", f"Subject: {subject}", "--header", "Message-ID: <via-postfix@remote.test>",
                   "--body", "Delivered by Postfix over LMTP.", "--timeout", "30"], check=False)
        require(r.returncode == 0, f"Postfix refused the message:\n{r.stdout}\n{r.stderr}")

        def arrived():
            try:
                rows = stored(h)
            except sqlite3.Error:
                return None
            return rows if len(rows) >= 2 else None

        try:
            rows = wait_for(arrived, timeout=60, interval=0.2, what="the message to arrive through Postfix")
        except AssertionError:
            print(read_log(h)[-4000:])
            raise
        require(sorted(o for o, _ in rows) == ["alice", "bob"], f"delivered to {[o for o, _ in rows]}")
        raw = rows[0][1]
        require(b"Message-ID: <via-postfix@remote.test>" in raw, "not our message")
        require(re.search(rb"^Received: from mta\.postfix\.test \(127\.0\.0\.1\)\r\n\tby rampart\." +
                          DOMAIN.encode(), raw), f"our Received: header is missing: {raw[:300]!r}")
        require(wait_for(lambda: re.search(r"status=sent \(250 2\.0\.0 ", read_log(h)), timeout=10,
                         what="Postfix to log status=sent"), "Postfix did not log a 250 from our LMTP")
    finally:
        if started:
            postfix(h, "stop", check=False)
    require(h.stop(server) == 0, "rampart server did not stop cleanly")


if __name__ == "__main__":
    harness.main(test)
