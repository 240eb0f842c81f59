"""A private Postfix instance for integration tests, entirely inside the test's
temporary directory: its own config_directory, queue_directory and
data_directory, listening on 127.0.0.1 only, logging to a file (there is no
syslog in the test container).

    pf = Postfix(h, smtpd_port=free_port(), tls=True)
    pf.main["transport_maps"] = "texthash:" + pf.write_map("transport", {...})
    pf.start()
    ...
    pf.stop()   # also registered with the harness, so a failing test stops it

Postfix runs its daemons as mail_owner (postfix), so the directories it reads
must be reachable by that user: the harness directory is opened to 0755.
"""
import os
import shutil
import subprocess
import time

from harness import require, wait_for, wait_port

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"


def available():
    return os.path.exists(POSTFIX) and os.geteuid() == 0


class Postfix:
    # name, type, private, unpriv, chroot, wakeup, maxproc, command
    SERVICES = [
        ("pickup", "unix", "n", "-", "n", "60", "1", "pickup"),
        ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
        ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
        ("tlsmgr", "unix", "-", "-", "n", "1000?", "1", "tlsmgr"),
        ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
        ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
        ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
        ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
        ("smtp", "unix", "-", "-", "n", "-", "-", "smtp"),
        ("relay", "unix", "-", "-", "n", "-", "-", "smtp"),
        ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
        ("error", "unix", "-", "-", "n", "-", "-", "error"),
        ("retry", "unix", "-", "-", "n", "-", "-", "error"),
        ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
        ("lmtp", "unix", "-", "-", "n", "-", "-", "lmtp"),
        ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
        ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
        # With maillog_file set, postlogd writes the log (Postfix >= 3.4).
        ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
    ]

    def __init__(self, h, name="postfix", smtpd_port=None, tls=True, hostname="relay.test"):
        self.h = h
        self.base = h.path(name)
        self.config_dir = os.path.join(self.base, "etc")
        self.queue_dir = os.path.join(self.base, "queue")
        self.data_dir = os.path.join(self.base, "data")
        self.log_path = os.path.join(self.base, "maillog")
        self.smtpd_port = smtpd_port
        self.running = False
        for d in (self.config_dir, self.queue_dir, self.data_dir):
            os.makedirs(d, exist_ok=True)
        # Postfix's daemons run as `postfix` and must reach their directories.
        os.chmod(h.dir, 0o755)
        os.chmod(self.base, 0o755)
        subprocess.run(["chown", "postfix", self.data_dir], check=True)
        self.main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.base,
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": hostname,
            "mydomain": hostname,
            "myorigin": hostname,
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "append_dot_mydomain": "no",
            "smtputf8_enable": "no",
            "delay_warning_time": "0",
            # Retry quickly inside a test.
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtp_dns_support_level": "disabled",
            "lmtp_host_lookup": "native",
            "smtp_host_lookup": "native",
            "disable_dns_lookups": "yes",
        }
        if tls:
            self._make_cert(hostname)
            self.main.update({
                "smtpd_tls_cert_file": os.path.join(self.config_dir, "cert.pem"),
                "smtpd_tls_key_file": os.path.join(self.config_dir, "key.pem"),
                "smtpd_tls_security_level": "may",
                "smtpd_tls_received_header": "yes",
                "smtpd_tls_loglevel": "1",
            })
        h.cleanups = getattr(h, "cleanups", [])

    def _make_cert(self, hostname):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", f"/CN={hostname}",
             "-addext", f"subjectAltName=DNS:{hostname},IP:127.0.0.1",
             "-keyout", os.path.join(self.config_dir, "key.pem"),
             "-out", os.path.join(self.config_dir, "cert.pem")],
            check=True, capture_output=True)
        os.chmod(os.path.join(self.config_dir, "key.pem"), 0o600)
        self.cert_path = os.path.join(self.config_dir, "cert.pem")

    def write_map(self, name, entries):
        """A texthash: table (no postmap needed); returns its path."""
        path = os.path.join(self.config_dir, name)
        with open(path, "w") as f:
            for k, v in entries.items():
                f.write(f"{k} {v}\n")
        return path

    def _write_config(self):
        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            for k, v in self.main.items():
                f.write(f"{k} = {v}\n")
        with open(os.path.join(self.config_dir, "master.cf"), "w") as f:
            if self.smtpd_port:
                f.write(f"127.0.0.1:{self.smtpd_port} inet n - n - - smtpd\n")
            for s in self.SERVICES:
                f.write(" ".join(s) + "\n")

    def postfix(self, *args, check=True):
        r = subprocess.run([POSTFIX, "-c", self.config_dir, *args], capture_output=True, text=True,
                           timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"postfix {' '.join(args)} exited {r.returncode}: {r.stdout}{r.stderr}"
                                 f"\n--- maillog ---\n{self.log()[-3000:]}")
        return r

    def start(self):
        self._write_config()
        if not getattr(self, "_registered", False):
            self._registered = True
            self.h.postfixes = getattr(self.h, "postfixes", [])
            self.h.postfixes.append(self)
        self.postfix("check")
        self.postfix("start")
        self.running = True
        if self.smtpd_port:
            wait_port(self.smtpd_port, timeout=30)

    def stop(self):
        if self.running:
            self.postfix("stop", check=False)
            self.running = False
            # master exits asynchronously; wait for the port to close.
            if self.smtpd_port:
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    import socket
                    try:
                        with socket.create_connection(("127.0.0.1", self.smtpd_port), timeout=0.3):
                            time.sleep(0.1)
                    except OSError:
                        break

    def flush(self):
        """Asks Postfix to retry its deferred mail now."""
        subprocess.run([POSTQUEUE, "-c", self.config_dir, "-f"], capture_output=True, timeout=30)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, needle, timeout=30):
        return wait_for(lambda: needle in self.log(), timeout=timeout, what=f"'{needle}' in the Postfix log")


def stop_all(h):
    """Stops every Postfix started through `h` (call it from a finally block)."""
    for pf in getattr(h, "postfixes", []):
        try:
            pf.stop()
        except Exception as e:  # noqa: BLE001 - best effort on the way out
            print(f"stopping postfix in {pf.base}: {e}")
