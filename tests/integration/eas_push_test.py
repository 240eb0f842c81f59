"""EAS Sync and Direct Push over HTTPS against `rampart up`, with bodies made and
read by Debian's libwbxml2-utils (xml2wbxml / wbxml2xml):

- Sync key 0, then the messages delivered by swaks over LMTP;
- a parked Ping is answered Status 2 with the Inbox when swaks delivers
  (MS-ASCMD 2.2.1.13), and a newer Ping of the same device ends the older one
  with Status 1;
- a sync key answered by the server survives kill -9: after a restart the
  same key is still current (Status 1, not 3) and the resent previous key
  gets the same answer again;
- 12.1 without provisioning is HTTP 449 (MS-ASPROV 3.2.5.1);
- a device over its request rate gets 503 with Retry-After and Status 111."""
import base64
import http.client
import re
import ssl
import subprocess
import threading
import time

from harness import RAMPART_BIN, Harness, main, require, wait_for

HEADER = ('<?xml version="1.0" encoding="utf-8"?>\n'
          '<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">\n')


class Eas:
    def __init__(self, h, data, port, password, device="PUSH0001"):
        self.h, self.data, self.port, self.password, self.device = h, data, port, password, device
        self.key = None
        self.n = 0

    def wbxml(self, xml):
        self.n += 1
        src = self.h.write(f"{self.device}-{self.n}.xml", HEADER + xml)
        out = self.h.path(f"{self.device}-{self.n}.wbxml")
        subprocess.run(["xml2wbxml", "-a", "-n", "-o", out, src], check=True, capture_output=True)
        return open(out, "rb").read()

    def xml(self, body):
        if not body:
            return ""
        self.n += 1
        src = self.h.path(f"{self.device}-{self.n}.resp.wbxml")
        open(src, "wb").write(body)
        out = self.h.path(f"{self.device}-{self.n}.resp.xml")
        subprocess.run(["wbxml2xml", "-l", "ACTIVESYNC", "-o", out, src], check=True, capture_output=True)
        return open(out).read()

    def post(self, cmd, xml=None, version="16.1", timeout=60, raw=None):
        ctx = ssl.create_default_context(cafile=f"{self.data}/tls/dev-ca.crt")
        conn = http.client.HTTPSConnection("localhost", self.port, context=ctx, timeout=timeout)
        token = base64.b64encode(f"alice:{self.password}".encode()).decode()
        headers = {"Authorization": "Basic " + token, "MS-ASProtocolVersion": version,
                   "Content-Type": "application/vnd.ms-sync.wbxml", "User-Agent": "rampart-test/1"}
        if self.key:
            headers["X-MS-PolicyKey"] = self.key
        body = raw if raw is not None else (self.wbxml(xml) if xml else b"")
        conn.request("POST", f"/Microsoft-Server-ActiveSync?Cmd={cmd}&User=alice&DeviceId={self.device}"
                     "&DeviceType=TestPhone", body=body, headers=headers)
        res = conn.getresponse()
        payload = res.read()
        conn.close()
        return res, payload

    def provision(self):
        policy = "<Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>{}</Policy></Policies>"
        _, body = self.post("Provision", f'<Provision xmlns="Provision:">{policy.format("")}</Provision>')
        temp = field(self.xml(body), "PolicyKey")
        _, body = self.post("Provision", '<Provision xmlns="Provision:">' +
                            policy.format(f"<PolicyKey>{temp}</PolicyKey><Status>1</Status>") + "</Provision>")
        self.key = field(self.xml(body), "PolicyKey")
        require(self.key and self.key != temp, "a final policy key")

    def inbox(self):
        _, body = self.post("FolderSync", '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>')
        xml = self.xml(body)
        m = re.search(r"<ServerId>([^<]+)</ServerId>\s*<ParentId>[^<]*</ParentId>\s*<DisplayName>Inbox</DisplayName>", xml)
        require(m, f"the Inbox in FolderSync: {xml}")
        return m.group(1)

    def sync(self, folder, key, window=50):
        res, body = self.post("Sync", f"""<Sync xmlns="AirSync:"><Collections><Collection>
  <SyncKey>{key}</SyncKey><CollectionId>{folder}</CollectionId><GetChanges/>
  <WindowSize>{window}</WindowSize></Collection></Collections></Sync>""")
        require(res.status == 200, f"Sync: HTTP {res.status}")
        return self.xml(body)

    def ping(self, folder, heartbeat=300, timeout=120):
        res, body = self.post("Ping", f"""<Ping xmlns="Ping:"><HeartbeatInterval>{heartbeat}</HeartbeatInterval>
  <Folders><Folder><Id>{folder}</Id><Class>Email</Class></Folder></Folders></Ping>""", timeout=timeout)
        require(res.status == 200, f"Ping: HTTP {res.status}")
        return self.xml(body)


def field(xml, name):
    m = re.search(f"<{name}>([^<]*)</{name}>", xml)
    return m.group(1) if m else None


def swaks(h, port, subject):
    h.run(["swaks", "--protocol", "LMTP", "--server", f"127.0.0.1:{port}", "--from", "bob@example.test",
           "--to", "alice@example.test", "--header", f"Subject: {subject}", "--body", f"body of {subject}"])


def start(h, data, name):
    proc = h.start([RAMPART_BIN, "up", "--data-dir", data, "--lmtp-port", "0", "--admin-port", "0",
                    "--eas-port", "0", "--link-port", "0", "--gateway-admin-port", "0",
                    "--est-link-port", "0", "--pki-port", "0", "--rights-link-port", "0"], name)
    log = lambda: h.log(proc)  # noqa: E731
    eas = int(wait_for(lambda: (m := re.search(r"EAS \(HTTPS\)\s+https://localhost:(\d+)/", log())) and m.group(1),
                       timeout=60, what="the EAS port"))
    lmtp = int(re.search(r"LMTP \(mail in\)\s+127\.0\.0\.1:(\d+)", log()).group(1))
    return proc, eas, lmtp


def test(h: Harness):
    data = h.path("data")
    proc, port, lmtp = start(h, data, "up-1")
    password = open(f"{data}/demo-users.txt").read().split("alice alice@example.test ")[1].split()[0]
    swaks(h, lmtp, "first")
    swaks(h, lmtp, "second")

    eas = Eas(h, data, port, password)
    eas.provision()
    inbox = eas.inbox()
    key0 = field(eas.sync(inbox, "0"), "SyncKey")
    xml = eas.sync(inbox, key0)
    key1 = field(xml, "SyncKey")
    require(xml.count("<Add>") == 2 and "first" in xml and "second" in xml, f"both messages: {xml}")
    require(key1 and key1 != key0, xml)

    # Direct Push: the Ping parks, swaks delivers, the Ping answers Status 2.
    answer = {}
    t = threading.Thread(target=lambda: answer.update(xml=eas.ping(inbox)))
    t.start()
    time.sleep(1.0)  # let the Ping park (it would answer 2 at once otherwise too)
    swaks(h, lmtp, "pushed")
    t.join(timeout=90)
    require(not t.is_alive(), "the parked Ping answered after the delivery, long before its 300 s heartbeat")
    require("<Status>2</Status>" in answer["xml"] and f"<Folder>{inbox}</Folder>" in answer["xml"],
            f"Ping Status 2 with the Inbox: {answer['xml']}")
    xml = eas.sync(inbox, key1)
    key2 = field(xml, "SyncKey")
    require("pushed" in xml and xml.count("<Add>") == 1, f"the pushed message: {xml}")

    # The newest Ping of a device ends the one before with Status 1.
    older = {}
    t = threading.Thread(target=lambda: older.update(xml=eas.ping(inbox)))
    t.start()
    time.sleep(1.0)
    newer = {}
    t2 = threading.Thread(target=lambda: newer.update(xml=eas.ping(inbox)))
    t2.start()
    t.join(timeout=60)
    require(not t.is_alive() and "<Status>1</Status>" in older["xml"], f"the older Ping ended: {older}")
    swaks(h, lmtp, "wakes the newer")
    t2.join(timeout=60)
    require(not t2.is_alive() and "<Status>2</Status>" in newer["xml"], f"the newer Ping woke: {newer}")

    # kill -9 right after a Sync answered a new key: the key survives.
    xml = eas.sync(inbox, key2)
    key3 = field(xml, "SyncKey")
    require("wakes the newer" in xml and key3 and key3 != key2, xml)

    # Sync with Wait (MS-ASCMD 2.2.3.198): nothing to send, so it parks like a
    # Ping and answers with the message a delivery brings.
    waited = {}

    def sync_wait():
        res, body = eas.post("Sync", f"""<Sync xmlns="AirSync:"><Collections><Collection>
  <SyncKey>{key3}</SyncKey><CollectionId>{inbox}</CollectionId><GetChanges/></Collection></Collections>
  <Wait>5</Wait></Sync>""", timeout=120)
        waited.update(status=res.status, xml=eas.xml(body))
    t = threading.Thread(target=sync_wait)
    t.start()
    time.sleep(1.0)
    swaks(h, lmtp, "during the wait")
    t.join(timeout=90)
    require(not t.is_alive() and waited["status"] == 200 and "during the wait" in waited["xml"],
            f"the waiting Sync answered with the delivery: {waited}")
    previous, key3 = key3, field(waited["xml"], "SyncKey")
    require(key3 and key3 != previous, waited["xml"])
    h.kill(proc)
    proc, port, lmtp = start(h, data, "up-2")
    eas.port = port
    xml = eas.sync(inbox, key3)
    require(field(xml, "Status") == "1" or xml == "", f"the last key is still current after kill -9: {xml!r}")
    resent = eas.sync(inbox, previous)
    require("during the wait" in resent and field(resent, "SyncKey") == key3,
            f"the previous key gets the lost answer again: {resent}")

    # 12.1 without provisioning: HTTP 449.
    old = Eas(h, data, port, password, device="OLD00001")
    res, _ = old.post("FolderSync", '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>',
                      version="12.1")
    require(res.status == 449, f"12.1 unprovisioned: HTTP {res.status}")

    # A runaway device: over its rate it gets 503 + Retry-After + Status 111.
    h.stop(proc)
    config = open(f"{data}/server.toml").read()
    config = config.replace("[eas]\n", "[eas]\ndevice_requests_per_second = 1\ndevice_burst = 5\n", 1)
    open(f"{data}/server.toml", "w").write(config)
    proc, port, lmtp = start(h, data, "up-3")
    eas.port = port
    statuses = []
    for _ in range(12):
        res, body = eas.post("FolderSync", '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>')
        statuses.append(res.status)
        if res.status == 503:
            require(int(res.getheader("Retry-After", "0")) >= 1, f"Retry-After: {res.getheaders()}")
            require(field(eas.xml(body), "Status") == "111", "Status 111 in the FolderSync root")
    require(statuses[:5] == [200] * 5 and 503 in statuses, f"burst then 503: {statuses}")
    h.stop(proc)


if __name__ == "__main__":
    main(test)
