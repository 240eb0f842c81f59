"""testssl.sh (Debian's `testssl`) against the edge gateway's TLS listener as
`rampart up` runs it: protocols, cipher categories, forward secrecy, server
preferences, server defaults (certificate, stapling) and the known
vulnerabilities. No finding may be HIGH or CRITICAL; lower ones are printed.

The gateway serves a certificate like a production one here (ECDSA P-256 from
a CA made with openssl, with CRL and OCSP pointers and a stapled OCSP response)
so that the verdict is about the listener, not about the development PKI of
`rampart up` (whose certificates carry no revocation pointers; testssl rates
that alone HIGH). testssl is told to trust that CA (--add-ca).

Then the same scan, shorter, against profile = "fips": still no HIGH or
CRITICAL, and only FIPS 140-2 suites and groups (AES-GCM; P-256/P-384).
"""
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

from harness import RAMPART_BIN, Harness, main, require, wait_for

INSTALL_HINT = "is not installed: run scripts/install-deps.sh"
BAD = ("HIGH", "CRITICAL")
QUIET = ("OK", "INFO")

OPENSSL_CNF = """\
[ ca ]
default_ca = testca
[ testca ]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/serial
certificate = {d}/ca.crt
private_key = {d}/ca.key
default_md = sha256
default_days = 90
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
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://127.0.0.1:9/ca.crl
authorityInfoAccess = OCSP;URI:http://127.0.0.1:9/ocsp
"""


def make_server_certificate(h):
    """CA, server certificate for localhost and a DER OCSP response for it
    (`openssl ocsp` answering its own request from the CA's index)."""
    d = h.path("pki")
    os.makedirs(d + "/newcerts")
    open(d + "/index.txt", "w").close()
    # A 16-byte random serial (CA/B Baseline Requirements 7.1: 64+ bits of entropy).
    open(d + "/serial", "w").write("%032X\n" % (int.from_bytes(os.urandom(16), "big") >> 1))
    cnf = h.write("pki/openssl.cnf", OPENSSL_CNF.format(d=d))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    h.run(["openssl", "req", "-x509", "-new", *ec, "-keyout", d + "/ca.key", "-out", d + "/ca.crt",
           "-subj", "/CN=Rampart testssl CA", "-days", "90", "-config", cnf, "-extensions", "v3_ca"])
    h.run(["openssl", "req", "-new", *ec, "-keyout", d + "/server.key", "-out", d + "/server.csr",
           "-subj", "/CN=localhost", "-config", cnf])
    h.run(["openssl", "ca", "-batch", "-notext", "-config", cnf, "-extensions", "server",
           "-in", d + "/server.csr", "-out", d + "/server.crt"])
    h.run(["openssl", "ocsp", "-index", d + "/index.txt", "-rsigner", d + "/ca.crt", "-rkey", d + "/ca.key",
           "-CA", d + "/ca.crt", "-issuer", d + "/ca.crt", "-cert", d + "/server.crt",
           "-respout", d + "/server.ocsp", "-ndays", "7"])
    return {name: f"{d}/{name}" for name in ("ca.crt", "server.crt", "server.key", "server.ocsp")}


def banner(h, proc, pattern):
    def found():
        if proc.poll() is not None:
            raise AssertionError(f"rampart up exited with {proc.returncode}:\n{h.log(proc)[-3000:]}")
        m = re.search(pattern, h.log(proc))
        return m and m.group(1)
    return wait_for(found, timeout=60, what=f"'{pattern}' in rampart up's output")


def start_up(h, data, name):
    proc = h.start([RAMPART_BIN, "up", "--data-dir", data, "--lmtp-port", "0", "--admin-port", "0",
                    "--eas-port", "0", "--link-port", "0", "--gateway-admin-port", "0",
                    "--est-link-port", "0", "--pki-port", "0", "--rights-link-port", "0"], name)
    return proc, int(banner(h, proc, r"EAS \(HTTPS\)\s+https://localhost:(\d+)/"))


def stop_up(h, proc):
    code = h.stop(proc)
    require(code == 0, f"rampart up stopped with {code}:\n{h.log(proc)[-4000:]}")


def configure(data, pki, profile):
    """Points the gateway's certificate at ours (with its staple) and sets
    the TLS profile, in the gateway.toml that `rampart up` wrote."""
    path = f"{data}/gateway.toml"
    cfg = re.sub(r'^ocsp_staple_file = ".*"\n', "", open(path).read(), flags=re.M)
    cfg, n_cert = re.subn(r'^cert_file = ".*"$', f'cert_file = "{pki["server.crt"]}"', cfg, count=1, flags=re.M)
    cfg, n_key = re.subn(r'^key_file = ".*"$',
                         f'key_file = "{pki["server.key"]}"\nocsp_staple_file = "{pki["server.ocsp"]}"',
                         cfg, count=1, flags=re.M)
    require(n_cert == 1 and n_key == 1, f"a [[certificate]] with cert_file and key_file in {path}")
    cfg = re.sub(r'^profile = ".*"\n', "", cfg, flags=re.M)
    cfg = cfg.replace("[listener]\n", f'[listener]\nprofile = "{profile}"\n', 1)
    open(path, "w").write(cfg)


def check_handshake(pki, port):
    ctx = ssl.create_default_context(cafile=pki["ca.crt"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            return t.version(), t.cipher()[0]


def testssl(h, testssl_bin, pki, port, name, selection, timeout):
    """Runs testssl; returns {id: (severity, finding)} from its JSON."""
    out = h.path(name + ".json")
    args = [testssl_bin, "--quiet", "--color", "0", "--warnings", "off", "-n", "none", "--add-ca", pki["ca.crt"],
            "--connect-timeout", "10", "--openssl-timeout", "10", "--jsonfile-pretty", out, *selection,
            "--ip", "127.0.0.1", f"https://localhost:{port}"]
    started = time.monotonic()
    proc = h.start(args, name)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        Harness.kill(proc)
        raise AssertionError(f"testssl ({name}) ran over {timeout} s:\n{h.log(proc)[-3000:]}")
    require(os.path.exists(out), f"testssl wrote no JSON (exit {proc.returncode}):\n{h.log(proc)[-3000:]}")
    doc = json.load(open(out))
    results = doc.get("scanResult") or []
    require(len(results) == 1, f"testssl scanned one target: {doc.get('scanResult')!r}"[:2000])
    findings = {}
    for section, items in results[0].items():
        if not isinstance(items, list):
            continue
        for f in items:
            findings[f["id"]] = (f.get("severity", ""), f.get("finding", ""), section)
    print(f"testssl {name}: {len(findings)} findings in {time.monotonic() - started:.0f} s")
    problems = {k: v for k, v in findings.items() if v[0] in ("FATAL", "WARN") or k.startswith("scanProblem")}
    for k, (sev, text, section) in sorted(problems.items()):
        print(f"  scan problem {section}/{k} {sev}: {text}")
    for k, (sev, text, section) in sorted(findings.items()):
        if sev not in QUIET and sev not in BAD and k not in problems:
            print(f"  {sev:8} {section}/{k}: {text[:160]}")
    if all(v[0] in QUIET for k, v in findings.items()):
        print("  no finding above INFO")
    bad = {k: v for k, v in findings.items() if v[0] in BAD}
    require(not bad, f"testssl ({name}) reports HIGH/CRITICAL findings: " +
            "; ".join(f"{k} {s}: {t}" for k, (s, t, _) in sorted(bad.items())))
    require("FATAL" not in {v[0] for v in findings.values()}, f"testssl ({name}) could not scan: {problems}")
    return findings


def finding(findings, key):
    require(key in findings, f"testssl reported {key}")
    return findings[key][1]


def check_common(findings, name):
    for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        require(finding(findings, proto).startswith("not offered"), f"{name}: {proto}: {findings[proto]}")
    require(finding(findings, "TLS1_2").startswith("offered"), f"{name}: TLS 1.2: {findings['TLS1_2']}")
    require(finding(findings, "TLS1_3").startswith("offered"), f"{name}: TLS 1.3: {findings['TLS1_3']}")
    for weak in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
                 "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"):
        require(finding(findings, weak) == "not offered", f"{name}: {weak}: {findings[weak]}")
    require(finding(findings, "PFS").startswith("offered"), f"{name}: forward secrecy: {findings['PFS']}")
    pfs = finding(findings, "PFS_ciphers").split()
    require(all("ECDHE" in c or c.startswith("TLS_") for c in pfs), f"{name}: only (EC)DHE suites: {pfs}")


def test(h: Harness):
    testssl_bin = shutil.which("testssl") or shutil.which("testssl.sh")
    require(testssl_bin, f"testssl {INSTALL_HINT}")
    require(shutil.which("openssl"), f"openssl {INSTALL_HINT}")
    require(RAMPART_BIN, "RAMPART_BIN is not set")
    started = time.monotonic()
    pki = make_server_certificate(h)
    data = h.path("data")
    # The first start writes gateway.toml; ours then takes the certificate.
    proc, _ = start_up(h, data, "up-first")
    stop_up(h, proc)

    configure(data, pki, "modern")
    proc, port = start_up(h, data, "up-modern")
    print("modern handshake:", check_handshake(pki, port))
    modern = testssl(h, testssl_bin, pki, port, "testssl-modern", ["-p", "-s", "-f", "-P", "-S", "-U"], 200)
    check_common(modern, "modern")
    require(finding(modern, "OCSP_stapling").startswith("offered"), f"OCSP stapling: {modern['OCSP_stapling']}")
    require(modern["cert_chain_of_trust"][0] == "OK", f"chain of trust: {modern['cert_chain_of_trust']}")
    for vuln in ("heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_client_renego", "CRIME_TLS", "POODLE_SSL",
                 "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4"):
        require(modern[vuln][0] == "OK", f"modern: {vuln}: {modern.get(vuln)}")
    stop_up(h, proc)

    # FIPS 140-2: AES-GCM suites, P-256/P-384 only. A shorter scan (no
    # certificate or vulnerability pass: those do not change with the profile).
    configure(data, pki, "fips")
    proc, port = start_up(h, data, "up-fips")
    print("fips handshake:", check_handshake(pki, port))
    fips = testssl(h, testssl_bin, pki, port, "testssl-fips", ["-p", "-s", "-f", "-P"], 150)
    check_common(fips, "fips")
    suites = finding(fips, "PFS_ciphers").split()
    suites += finding(fips, "cipherorder_TLSv1_2").split() + finding(fips, "cipherorder_TLSv1_3").split()
    require(suites and all("GCM" in s for s in suites), f"fips: only AES-GCM suites: {suites}")
    curves = set(finding(fips, "PFS_ECDHE_curves").split())
    require(curves and curves <= {"prime256v1", "secp384r1"}, f"fips: only P-256/P-384: {curves}")
    print(f"fips: suites {sorted(set(suites))}, groups {sorted(curves)}")
    stop_up(h, proc)
    print(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main(test)
