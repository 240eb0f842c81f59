"""Out of Office replies (RFC 3834) against `rampart up`:

- alice turns Out of Office on through EAS Settings (MS-ASCMD 2.2.1.18,
  Oof Set) after Provision;
- bob@example.test sends alice a message by swaks over LMTP: bob's Inbox gets
  exactly one "Automatic reply" with alice's internal reply text;
- a second message from bob gets none (one reply per sender per period);
- a message marked Auto-Submitted gets none either."""
import re
import time

from eas_push_test import Eas, field, start, swaks
from harness import RAMPART_BIN, Harness, main, require

SET_OOF = ('<Settings xmlns="Settings:"><Oof><Set><OofState>1</OofState>'
           '<OofMessage><AppliesToInternal/><Enabled>1</Enabled>'
           '<ReplyMessage>Away until Monday (internal).</ReplyMessage><BodyType>Text</BodyType></OofMessage>'
           '<OofMessage><AppliesToExternalKnown/><Enabled>1</Enabled>'
           '<ReplyMessage>Away until Monday.</ReplyMessage><BodyType>Text</BodyType></OofMessage>'
           '<OofMessage><AppliesToExternalUnknown/><Enabled>0</Enabled></OofMessage>'
           '</Set></Oof></Settings>')


def replies(h, data):
    out = h.run([RAMPART_BIN, "admin", "--data-dir", data, "mailbox", "list", "bob"]).stdout
    return [line for line in out.splitlines() if "Automatic reply" in line]


def test(h: Harness):
    data = h.path("data")
    proc, port, lmtp = start(h, data, "up-1")
    password = open(f"{data}/demo-users.txt").read().split("alice alice@example.test ")[1].split()[0]

    eas = Eas(h, data, port, password, device="OOF00001")
    eas.provision()
    res, body = eas.post("Settings", SET_OOF)
    xml = eas.xml(body)
    require(res.status == 200 and field(xml, "Status") == "1", f"Settings Oof Set: {res.status} {xml}")

    swaks(h, lmtp, "first")
    # The reply is sent after the delivery is acknowledged, asynchronously.
    deadline = time.time() + 30
    while not replies(h, data) and time.time() < deadline:
        time.sleep(0.2)
    got = replies(h, data)
    require(len(got) == 1 and "Automatic reply: first" in got[0], f"one automatic reply: {got}")
    item = re.match(r"\s*(\d+)", got[0]).group(1)
    shown = h.run([RAMPART_BIN, "admin", "--data-dir", data, "mailbox", "show", "bob", item]).stdout
    require("Auto-Submitted: auto-replied" in shown, f"Auto-Submitted: {shown}")
    require(re.search(r"^From: .*<alice@example\.test>", shown, re.M), f"From alice: {shown}")

    # Once per sender per period, and never to automated mail.
    swaks(h, lmtp, "second")
    h.run(["swaks", "--protocol", "LMTP", "--server", f"127.0.0.1:{lmtp}", "--from", "carol@example.test",
           "--to", "alice@example.test", "--header", "Auto-Submitted: auto-generated",
           "--header", "Subject: robot"])
    time.sleep(3)
    got = replies(h, data)
    require(len(got) == 1, f"still one automatic reply: {got}")
    require(h.stop(proc) == 0, f"clean stop (ASan quiet): exit {proc.returncode}")


if __name__ == "__main__":
    main(test)
