"""EAS Provision over HTTPS against `rampart up` (MS-ASPROV 3.1.5.1 / 3.2.5.1):
phase 1 hands out a temporary key and the policy document, phase 2 trades it
for a final key, a wrong key is refused with Policy Status 5, and OPTIONS now
lists Provision. Request bodies are made, and responses read, by Debian's
libwbxml2-utils (xml2wbxml / wbxml2xml), an encoder we did not write."""
import base64
import http.client
import re
import signal
import ssl
import subprocess

from harness import RAMPART_BIN, Harness, main, require, wait_for

PATH = "/Microsoft-Server-ActiveSync?Cmd=Provision&User=alice&DeviceId=PROV0001&DeviceType=TestPhone"
HEADER = ('<?xml version="1.0" encoding="utf-8"?>\n'
          '<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">\n')


def to_wbxml(h, name, xml):
    src = h.write(name + ".xml", HEADER + xml)
    out = h.path(name + ".wbxml")
    subprocess.run(["xml2wbxml", "-a", "-n", "-o", out, src], check=True, capture_output=True)
    return open(out, "rb").read()


def to_xml(h, name, body):
    src = h.path(name + ".resp.wbxml")
    open(src, "wb").write(body)
    out = h.path(name + ".resp.xml")
    subprocess.run(["wbxml2xml", "-l", "ACTIVESYNC", "-o", out, src], check=True, capture_output=True)
    return open(out).read()


def post(data, port, password, body, version="14.1", cmd="Provision", policy_key=None):
    ctx = ssl.create_default_context(cafile=f"{data}/tls/dev-ca.crt")
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
    token = base64.b64encode(f"alice:{password}".encode()).decode()
    headers = {"Authorization": "Basic " + token, "MS-ASProtocolVersion": version,
               "Content-Type": "application/vnd.ms-sync.wbxml", "User-Agent": "rampart-test/1"}
    if policy_key is not None:
        headers["X-MS-PolicyKey"] = policy_key
    conn.request("POST", PATH.replace("Cmd=Provision", "Cmd=" + cmd), body=body, headers=headers)
    res = conn.getresponse()
    payload = res.read()
    conn.close()
    return res, payload


def field(xml, name):
    m = re.search(f"<{name}>([^<]*)</{name}>", xml)
    return m.group(1) if m else None


def test(h: Harness):
    data = h.path("data")
    proc = h.start([RAMPART_BIN, "up", "--data-dir", data, "--lmtp-port", "0",
                    "--admin-port", "0", "--eas-port", "0", "--link-port", "0", "--gateway-admin-port", "0",
                    "--est-link-port", "0", "--pki-port", "0", "--rights-link-port", "0"], "up")
    port = int(wait_for(lambda: (m := re.search(r"EAS \(HTTPS\)\s+https://localhost:(\d+)/", h.log(proc)))
                        and m.group(1), timeout=60, what="the EAS port"))
    password = open(f"{data}/demo-users.txt").read().split("alice alice@example.test ")[1].split()[0]

    phase1 = to_wbxml(h, "phase1", """<Provision xmlns="Provision:" xmlns:settings="Settings:">
  <settings:DeviceInformation><settings:Set><settings:Model>TestPhone 1</settings:Model>
  <settings:OS>Debian 12</settings:OS></settings:Set></settings:DeviceInformation>
  <Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies>
</Provision>""")
    res, body = post(data, port, password, phase1)
    require(res.status == 200, f"phase 1: HTTP {res.status} {body!r}")
    require(res.getheader("Content-Type") == "application/vnd.ms-sync.wbxml", res.getheaders())
    xml = to_xml(h, "phase1", body)
    require("<EASProvisionDoc>" in xml and "<DevicePasswordEnabled>1</DevicePasswordEnabled>" in xml, xml)
    temp_key = field(xml, "PolicyKey")
    require(temp_key and temp_key != "0", f"a temporary key: {xml}")

    def ack(key):
        return to_wbxml(h, f"ack{key}", f"""<Provision xmlns="Provision:"><Policies><Policy>
  <PolicyType>MS-EAS-Provisioning-WBXML</PolicyType><PolicyKey>{key}</PolicyKey><Status>1</Status>
</Policy></Policies></Provision>""")

    wrong = str((int(temp_key) % 4000000000) + 1)
    res, body = post(data, port, password, ack(wrong))
    xml = to_xml(h, "wrong", body)
    require(res.status == 200 and "<Status>5</Status>" in xml, f"a wrong key is Policy Status 5: {xml}")

    res, body = post(data, port, password, ack(temp_key))
    xml = to_xml(h, "phase2", body)
    final_key = field(xml, "PolicyKey")
    require(res.status == 200 and final_key and final_key not in ("0", temp_key), f"a final key: {xml}")
    require("<EASProvisionDoc>" not in xml, "phase 2 carries no policy document")

    # The temporary key is spent: acknowledging it again is refused.
    res, body = post(data, port, password, ack(temp_key))
    require("<Status>5</Status>" in to_xml(h, "replay", body), "a spent temporary key is refused")

    # FolderSync: refused (Status 142/144) without the final key, served with it.
    folder_sync = to_wbxml(h, "foldersync", """<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>""")
    res, body = post(data, port, password, folder_sync, cmd="FolderSync")
    require(res.status == 200 and "<Status>142</Status>" in to_xml(h, "fs142", body), "no key: 142")
    res, body = post(data, port, password, folder_sync, cmd="FolderSync", policy_key=temp_key)
    require("<Status>144</Status>" in to_xml(h, "fs144", body), "the temporary key is not the final key: 144")
    res, body = post(data, port, password, folder_sync, cmd="FolderSync", policy_key=final_key)
    xml = to_xml(h, "fs", body)
    require(res.status == 200 and "<Status>1</Status>" in xml, xml)
    for name in ["Inbox", "Drafts", "Deleted Items", "Sent Items", "Outbox"]:
        require(f"<DisplayName>{name}</DisplayName>" in xml, f"{name} listed: {xml}")

    # FolderCreate with the hierarchy key FolderSync handed out; then FolderSync
    # from the new key reports nothing (the client made that change itself).
    key = field(xml, "SyncKey")
    create = to_wbxml(h, "create", f"""<FolderCreate xmlns="FolderHierarchy:"><SyncKey>{key}</SyncKey>
  <ParentId>0</ParentId><DisplayName>Projects</DisplayName><Type>12</Type></FolderCreate>""")
    res, body = post(data, port, password, create, cmd="FolderCreate", policy_key=final_key)
    xml = to_xml(h, "create", body)
    require(res.status == 200 and "<Status>1</Status>" in xml and "<ServerId>" in xml, xml)
    new_key = field(xml, "SyncKey")
    again = to_wbxml(h, "fs2", f"""<FolderSync xmlns="FolderHierarchy:"><SyncKey>{new_key}</SyncKey></FolderSync>""")
    res, body = post(data, port, password, again, cmd="FolderSync", policy_key=final_key)
    xml = to_xml(h, "fs2", body)
    require("<Count>0</Count>" in xml, f"no echo of the client's own change: {xml}")
    listing = h.rampart("admin", "--data-dir", data, "mailbox", "folders", "alice").stdout
    require("Projects" in listing, listing)

    # Garbage in the body is a 400, not a crash.
    res, _ = post(data, port, password, b"\x03\x01\x6a\x00\x45\x46")
    require(res.status == 400, f"truncated WBXML: {res.status}")
    res, _ = post(data, port, password, phase1, version="9.9")
    require(res.status == 400, f"an unknown protocol version: {res.status}")

    # Remote wipe (rampart admin device wipe): the next Provision answers
    # RemoteWipe; the device's acknowledgement is recorded.
    listing = h.rampart("admin", "--data-dir", data, "device", "list", "alice").stdout
    require("PROV0001" in listing and "provisioned=yes" in listing and "TestPhone 1" in listing, listing)
    h.rampart("admin", "--data-dir", data, "device", "wipe", "alice", "PROV0001")
    res, body = post(data, port, password, phase1)
    xml = to_xml(h, "wipe", body)
    require("<RemoteWipe" in xml and "<Policies>" not in xml, f"wipe answered first: {xml}")
    wipe_ack = to_wbxml(h, "wipeack", """<Provision xmlns="Provision:"><RemoteWipe><Status>1</Status></RemoteWipe></Provision>""")
    res, body = post(data, port, password, wipe_ack)
    require(res.status == 200, f"wipe ack: {res.status}")
    listing = h.rampart("admin", "--data-dir", data, "device", "list", "alice").stdout
    require("wiped" in listing, listing)

    # A blocked device is refused before anything else.
    h.rampart("admin", "--data-dir", data, "device", "block", "alice", "PROV0001")
    res, _ = post(data, port, password, phase1)
    require(res.status == 403, f"blocked device: {res.status}")
    h.rampart("admin", "--data-dir", data, "device", "allow", "alice", "PROV0001")
    res, _ = post(data, port, password, phase1)
    require(res.status == 200, f"allowed again: {res.status}")

    proc.send_signal(signal.SIGTERM)
    require(proc.wait(timeout=30) == 0, f"rampart up exited {proc.returncode}")


if __name__ == "__main__":
    main(test)
