"""Shared helpers for integration tests: temporary directories, free ports,
starting and stopping real processes on loopback, and waiting for them.

Every test is a plain script: it exits 0 on success, non-zero with a message on
failure. Processes started through Harness are killed when the test ends.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

RAMPART_BIN = os.environ.get("RAMPART_BIN", "")
SOURCE_DIR = os.environ.get(
    "RAMPART_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=30.0, proc=None):
    """Waits until something accepts on host:port; fails if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_for(predicate, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def require(cond, message):
    if not cond:
        raise AssertionError(message)


class Harness:
    """A temporary directory and the processes started in it."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"rampart-{name}-")
        self.procs = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, relpath, text, mode=0o644):
        p = self.path(relpath)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def start(self, args, log_name, env=None, **kwargs):
        """Starts a process with stdout+stderr going to <dir>/<log_name>.log."""
        log = open(self.path(log_name + ".log"), "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=full_env,
                                start_new_session=True, **kwargs)
        proc.log_path = self.path(log_name + ".log")
        self.procs.append(proc)
        return proc

    def run(self, args, check=True, input=None, env=None, timeout=120):
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        r = subprocess.run(args, capture_output=True, text=True, input=input, env=full_env,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{args} exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def rampart(self, *args, **kwargs):
        require(RAMPART_BIN, "RAMPART_BIN is not set")
        return self.run([RAMPART_BIN, *args], **kwargs)

    def log(self, proc):
        with open(proc.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    @staticmethod
    def kill(proc, sig=signal.SIGKILL):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            proc.wait(timeout=30)

    def stop(self, proc, timeout=20):
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill(proc)
        return proc.returncode

    def close(self, keep=False):
        for p in reversed(self.procs):
            self.kill(p)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def main(test_fn, name=None):
    """Runs test_fn(harness); prints the logs of every process on failure."""
    h = Harness(name or os.path.basename(sys.argv[0]).replace(".py", ""))
    ok = False
    try:
        test_fn(h)
        ok = True
    except BaseException:
        import traceback
        traceback.print_exc()
        for p in h.procs:
            print(f"----- log of {p.args[0]} ({getattr(p, 'log_path', '?')}) -----")
            try:
                print(h.log(p)[-6000:])
            except OSError:
                pass
    finally:
        h.close(keep=not ok and os.environ.get("KEEP_TMP") == "1")
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


# Every listener of `rampart up` on a free port, so tests can run side by side.
UP_PORTS = ["--lmtp-port", "0", "--admin-port", "0", "--eas-port", "0", "--link-port", "0",
            "--gateway-admin-port", "0", "--est-link-port", "0", "--pki-port", "0", "--rights-link-port", "0"]


def start_up(h, data, name="up", extra=()):
    """Starts `rampart up --data-dir data` on free ports and waits for its banner.
    Returns (proc, ports): ports has eas (the gateway), lmtp and pki (CRL/OCSP)."""
    import re
    proc = h.start([RAMPART_BIN, "up", "--data-dir", data, *UP_PORTS, *extra], name)
    banner = wait_for(lambda: "Press Ctrl-C" in h.log(proc) and h.log(proc), timeout=90,
                      what="the banner of rampart up")
    ports = {}
    for key, pattern in (("eas", r"EAS \(HTTPS\)\s+https://localhost:(\d+)/"),
                         ("lmtp", r"LMTP \(mail in\)\s+127\.0\.0\.1:(\d+)"),
                         ("pki", r"CRL / OCSP\s+http://127\.0\.0\.1:(\d+)/")):
        m = re.search(pattern, banner)
        if m:
            ports[key] = int(m.group(1))
    return proc, ports


def demo_password(data, user="alice"):
    """The password `rampart up` gave a demo user (DIR/demo-users.txt)."""
    for line in open(os.path.join(data, "demo-users.txt")):
        parts = line.split()
        if len(parts) == 3 and parts[0] == user:
            return parts[2]
    raise AssertionError(f"no demo user {user}")
