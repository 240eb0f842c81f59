// mime::compose(): the device's message made ready to submit (SendMail,
// SmartReply, SmartForward; MS-ASCMD 2.2.1.17, 2.2.1.20, 2.2.1.19).
#include "codec/mime/compose.h"

#include <gtest/gtest.h>

#include <string>

#include "codec/mime/body.h"
#include "codec/mime/summary.h"

namespace rampart::mime {
namespace {

ComposeRequest baseRequest(std::string_view message) {
  ComposeRequest r;
  r.message = message;
  r.user_address = "alice@example.org";
  r.user_display_name = "Alice Liddell";
  r.allowed_from = {"a.liddell@example.org"};
  r.now = 1700000000;
  r.message_id = "<gen123@example.org>";
  return r;
}

// The header block (before the first empty line).
std::string headers(const std::string& m) {
  auto end = m.find("\r\n\r\n");
  return end == std::string::npos ? m : m.substr(0, end + 2);
}

bool hasHeader(const std::string& m, std::string_view name) {
  std::string h = "\r\n" + headers(m);
  return h.find("\r\n" + std::string(name) + ":") != std::string::npos;
}

constexpr const char* kSimple =
    "From: Alice <alice@example.org>\n"
    "To: Bob <bob@example.com>, \"Carol, C.\" <carol@Example.COM>\n"
    "Cc: =?utf-8?q?D=C3=A9nis?= <denis@example.net>, bob@EXAMPLE.com\n"
    "Bcc: eve@example.net\n"
    "Subject: Hello\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Hi all\n";

TEST(ComposeTest, CollectsRecipientsAndDropsBcc) {
  auto c = compose(baseRequest(kSimple));
  ASSERT_EQ(c.problem, ComposeProblem::none) << c.detail;
  EXPECT_EQ(c.recipients, (std::vector<std::string>{"bob@example.com", "carol@Example.COM",
                                                    "denis@example.net", "eve@example.net"}));
  EXPECT_FALSE(hasHeader(c.message, "Bcc")) << c.message;
  EXPECT_EQ(c.message.find("eve@example.net"), std::string::npos);
  EXPECT_TRUE(hasHeader(c.sent_copy, "Bcc")) << c.sent_copy;
  // Date and Message-ID were missing; From was allowed and kept.
  EXPECT_TRUE(hasHeader(c.message, "Date"));
  EXPECT_NE(headers(c.message).find("Message-Id: <gen123@example.org>"), std::string::npos)
      << c.message;
  EXPECT_NE(headers(c.message).find("From: Alice <alice@example.org>"), std::string::npos);
  // CRLF everywhere.
  for (std::size_t i = 0; i < c.message.size(); ++i) {
    if (c.message[i] == '\n') {
      ASSERT_TRUE(i > 0 && c.message[i - 1] == '\r') << i;
    }
  }
  EXPECT_NE(c.message.find("Hi all\r\n"), std::string::npos);
}

TEST(ComposeTest, GroupsAreExpandedAndEmptyGroupsAreFine) {
  std::string m =
      "From: alice@example.org\r\n"
      "To: Team: x@example.com, \"Y\" <y@example.com>;, undisclosed-recipients:;\r\n"
      "Subject: g\r\n\r\nbody\r\n";
  auto c = compose(baseRequest(m));
  ASSERT_EQ(c.problem, ComposeProblem::none) << c.detail;
  EXPECT_EQ(c.recipients, (std::vector<std::string>{"x@example.com", "y@example.com"}));
}

TEST(ComposeTest, KeepsExistingDateAndMessageId) {
  std::string m =
      "From: alice@example.org\r\nTo: b@example.com\r\n"
      "Date: Tue, 1 Oct 2024 10:00:00 +0200\r\nMessage-ID: <own@device>\r\n\r\nx\r\n";
  auto c = compose(baseRequest(m));
  ASSERT_EQ(c.problem, ComposeProblem::none);
  EXPECT_NE(c.message.find("<own@device>"), std::string::npos);
  EXPECT_EQ(c.message.find("gen123"), std::string::npos);
  EXPECT_NE(c.message.find("Tue, 1 Oct 2024 10:00:00 +0200"), std::string::npos);
}

TEST(ComposeTest, ForeignFromIsReplaced) {
  std::string m =
      "From: Mallory <ceo@bank.example>\r\nSender: ceo@bank.example\r\n"
      "To: b@example.com\r\n\r\nx\r\n";
  auto c = compose(baseRequest(m));
  ASSERT_EQ(c.problem, ComposeProblem::none);
  EXPECT_EQ(c.message.find("bank.example"), std::string::npos) << c.message;
  auto s = summarize(c.message);
  EXPECT_EQ(s.from, "Alice Liddell <alice@example.org>");
}

TEST(ComposeTest, AliasAndCaseInsensitiveFromAreKept) {
  for (const char* from : {"From: A <A.Liddell@EXAMPLE.org>", "From: ALICE@example.ORG"}) {
    std::string m = std::string(from) + "\r\nTo: b@example.com\r\n\r\nx\r\n";
    auto c = compose(baseRequest(m));
    ASSERT_EQ(c.problem, ComposeProblem::none);
    EXPECT_NE(c.message.find(from), std::string::npos) << c.message;
  }
  // Two mailboxes in From: is not "the user".
  std::string m = "From: alice@example.org, bob@example.com\r\nTo: b@example.com\r\n\r\nx\r\n";
  auto c = compose(baseRequest(m));
  ASSERT_EQ(c.problem, ComposeProblem::none);
  EXPECT_EQ(summarize(c.message).from, "Alice Liddell <alice@example.org>");
}

TEST(ComposeTest, Problems) {
  EXPECT_EQ(compose(baseRequest("")).problem, ComposeProblem::invalid_mime);
  EXPECT_EQ(compose(baseRequest("just some text without headers")).problem,
            ComposeProblem::invalid_mime);
  EXPECT_EQ(compose(baseRequest("From: alice@example.org\r\nSubject: x\r\n\r\nbody")).problem,
            ComposeProblem::no_recipients);
  EXPECT_EQ(compose(baseRequest("To: ok@example.com, x@bad_domain.example\r\n\r\nbody")).problem,
            ComposeProblem::bad_recipient);
  // Found by mime_compose_fuzz: a Content-Type GMime cannot read ("multip"
  // and a control character) came out without the blank line after the
  // header fields, a message that would not parse again. It is refused.
  std::string odd("To: bob@example.com\r\nContent-Type: multip\x13\0\n Sub/alt; boundary=\na\r\n\r\n--a\r\nC",
                  75);
  auto c = compose(baseRequest(odd));
  EXPECT_TRUE(c.problem == ComposeProblem::invalid_mime || compose(baseRequest(c.message)).problem ==
                                                              ComposeProblem::none)
      << c.message;

  std::string many = "To: ";
  for (int i = 0; i < 5; ++i) many += "u" + std::to_string(i) + "@example.com, ";
  many += "u0@EXAMPLE.com\r\n\r\nx\r\n";
  ComposeLimits limits;
  limits.max_recipients = 5;
  EXPECT_EQ(compose(baseRequest(many), limits).problem, ComposeProblem::none);
  limits.max_recipients = 4;
  EXPECT_EQ(compose(baseRequest(many), limits).problem, ComposeProblem::too_many_recipients);

  limits = {};
  limits.max_message_size = 10;
  EXPECT_EQ(compose(baseRequest(kSimple), limits).problem, ComposeProblem::too_large);
}

TEST(ComposeTest, UsableAddresses) {
  EXPECT_TRUE(isUsableAddress("a@b.c"));
  EXPECT_TRUE(isUsableAddress("first.last+tag@sub.example.org"));
  EXPECT_TRUE(isUsableAddress("\"john doe\"@example.org"));
  EXPECT_TRUE(isUsableAddress("x@[192.0.2.1]"));
  EXPECT_FALSE(isUsableAddress("@b.c"));
  EXPECT_FALSE(isUsableAddress("a@"));
  EXPECT_FALSE(isUsableAddress("ab.c"));
  EXPECT_FALSE(isUsableAddress("a b@c.d"));
  EXPECT_FALSE(isUsableAddress("a@b..c"));
  EXPECT_FALSE(isUsableAddress("a@b_c.d"));
  EXPECT_FALSE(isUsableAddress("a\r\nRCPT TO:<x>@b.c"));
  EXPECT_FALSE(isUsableAddress(std::string(300, 'a') + "@b.c"));
}

constexpr const char* kOriginal =
    "From: Bob <bob@example.com>\r\n"
    "To: alice@example.org\r\n"
    "Subject: Lunch?\r\n"
    "Date: Mon, 30 Sep 2024 09:00:00 +0000\r\n"
    "Message-ID: <orig-1@example.com>\r\n"
    "References: <root@example.com> <mid@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Shall we have lunch at the caf=E9?\r\n"
    "> older quote\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf; name=\"menu.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"menu.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQK\r\n"
    "--b1--\r\n";

TEST(ComposeTest, ReplyQuotesPlainAndHtmlAndThreads) {
  std::string reply =
      "From: alice@example.org\r\nTo: bob@example.com\r\nSubject: RE: Lunch?\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
      "--alt\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nYes!\r\n"
      "--alt\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n"
      "<html><body><p>Yes!</p></body></html>\r\n"
      "--alt--\r\n";
  auto r = baseRequest(reply);
  r.kind = ComposeKind::reply;
  r.original = kOriginal;
  auto c = compose(r);
  ASSERT_EQ(c.problem, ComposeProblem::none) << c.detail;
  auto b = extractBodies(c.message);
  EXPECT_NE(b.plain.find("Yes!"), std::string::npos) << b.plain;
  EXPECT_NE(b.plain.find("On Mon, 30 Sep 2024 09:00:00 +0000, Bob <bob@example.com> wrote:"),
            std::string::npos)
      << b.plain;
  EXPECT_NE(b.plain.find("> Shall we have lunch at the caf\xC3\xA9?"), std::string::npos)
      << b.plain;
  EXPECT_NE(b.plain.find(">> older quote"), std::string::npos) << b.plain;
  // The attachment of the original is not part of a reply.
  EXPECT_EQ(c.message.find("menu.pdf"), std::string::npos);
  // HTML: the quote sits inside the body, escaped.
  auto body_end = b.html.find("</body>");
  auto quote = b.html.find("<blockquote");
  ASSERT_NE(quote, std::string::npos) << b.html;
  EXPECT_LT(quote, body_end);
  EXPECT_NE(b.html.find("&gt; older quote"), std::string::npos) << b.html;
  EXPECT_NE(b.html.find("Bob &lt;bob@example.com&gt;"), std::string::npos) << b.html;

  auto h = headers(c.message);
  EXPECT_NE(h.find("In-Reply-To: <orig-1@example.com>"), std::string::npos) << h;
  EXPECT_NE(h.find("References: <root@example.com> <mid@example.com> <orig-1@example.com>"),
            std::string::npos)
      << h;
}

TEST(ComposeTest, ReplyReferencesAreBounded) {
  std::string orig = "From: b@example.com\r\nMessage-ID: <new@x>\r\nReferences:";
  for (int i = 0; i < 50; ++i) orig += " <r" + std::to_string(i) + "@x>";
  orig += "\r\n\r\nhello\r\n";
  auto r = baseRequest("To: b@example.com\r\n\r\nok\r\n");
  r.kind = ComposeKind::reply;
  r.original = orig;
  ComposeLimits limits;
  limits.max_references = 3;
  auto c = compose(r, limits);
  ASSERT_EQ(c.problem, ComposeProblem::none);
  auto s = summarize(c.message);
  EXPECT_NE(c.message.find("References: <r0@x> <r49@x> <new@x>"), std::string::npos)
      << headers(c.message);
}

TEST(ComposeTest, ReplyKeepsDeviceThreadHeadersAndReplaceMime) {
  std::string reply =
      "To: bob@example.com\r\nIn-Reply-To: <dev@x>\r\nReferences: <dev@x>\r\n\r\nmine\r\n";
  auto r = baseRequest(reply);
  r.kind = ComposeKind::reply;
  r.original = kOriginal;
  auto c = compose(r);
  ASSERT_EQ(c.problem, ComposeProblem::none);
  EXPECT_EQ(c.message.find("orig-1"), std::string::npos) << c.message;
  EXPECT_NE(c.message.find("Shall we"), std::string::npos);

  r.replace_mime = true;
  c = compose(r);
  ASSERT_EQ(c.problem, ComposeProblem::none);
  EXPECT_EQ(c.message.find("Shall we"), std::string::npos);
  EXPECT_EQ(extractBodies(c.message).plain, "mine\r\n");
}

TEST(ComposeTest, ReplyWithoutTextBodyGetsAQuotePart) {
  std::string reply =
      "To: bob@example.com\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
      "\r\niVBORw0KGgo=\r\n";
  auto r = baseRequest(reply);
  r.kind = ComposeKind::reply;
  r.original = kOriginal;
  auto c = compose(r);
  ASSERT_EQ(c.problem, ComposeProblem::none);
  auto s = summarize(c.message);
  EXPECT_EQ(s.content_type, "multipart/mixed");
  EXPECT_NE(extractBodies(c.message).plain.find("> Shall we"), std::string::npos);
}

TEST(ComposeTest, ForwardAttachesTheOriginal) {
  std::string fwd =
      "From: alice@example.org\r\nTo: carol@example.com\r\nSubject: FW: Lunch?\r\n"
      "Content-Type: text/plain\r\n\r\nSee below\r\n";
  auto r = baseRequest(fwd);
  r.kind = ComposeKind::forward;
  r.original = kOriginal;
  auto c = compose(r);
  ASSERT_EQ(c.problem, ComposeProblem::none) << c.detail;
  auto s = summarize(c.message);
  EXPECT_EQ(s.content_type, "multipart/mixed");
  ASSERT_EQ(s.attachments.size(), 1u) << c.message;
  EXPECT_EQ(s.attachments[0].content_type, "message/rfc822");
  EXPECT_NE(c.message.find("Message-ID: <orig-1@example.com>"), std::string::npos);
  EXPECT_NE(c.message.find("JVBERi0xLjQK"), std::string::npos);
  EXPECT_EQ(extractBodies(c.message).plain, "See below\r\n");
  // No threading headers on a forward.
  EXPECT_EQ(headers(c.message).find("In-Reply-To"), std::string::npos);
}

TEST(ComposeTest, ForwardIntoExistingMixed) {
  std::string fwd =
      "To: carol@example.com\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
      "--m\r\nContent-Type: text/plain\r\n\r\nfyi\r\n"
      "--m\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=a.csv\r\n"
      "\r\n1,2\r\n--m--\r\n";
  auto r = baseRequest(fwd);
  r.kind = ComposeKind::forward;
  r.original = kOriginal;
  auto c = compose(r);
  ASSERT_EQ(c.problem, ComposeProblem::none);
  auto s = summarize(c.message);
  ASSERT_EQ(s.attachments.size(), 2u) << c.message;
  EXPECT_EQ(s.attachments[0].filename, "a.csv");
  EXPECT_EQ(s.attachments[1].content_type, "message/rfc822");
}

TEST(ComposeTest, OddOriginalIdsAreNotCopied) {
  std::string orig =
      "From: b@example.com\r\nMessage-ID: <a b@x>\r\n"
      "References: <ok@x> <bad id@x> <also\x01"
      "bad@x>\r\n\r\nhello\r\n";
  auto r = baseRequest("To: b@example.com\r\n\r\nok\r\n");
  r.kind = ComposeKind::reply;
  r.original = orig;
  auto c = compose(r);
  ASSERT_EQ(c.problem, ComposeProblem::none);
  auto h = headers(c.message);
  EXPECT_EQ(h.find("In-Reply-To"), std::string::npos) << h;
  EXPECT_EQ(h.find("References"), std::string::npos) << h;
}

TEST(ComposeTest, MalformedFieldsAreDropped) {
  std::string m = "To: b@example.com\r\n:>odd line\r\nSubject: s\r\n\r\nx\r\n";
  auto c = compose(baseRequest(m));
  ASSERT_EQ(c.problem, ComposeProblem::none);
  EXPECT_EQ(c.message.find("odd line"), std::string::npos) << c.message;
  EXPECT_NE(c.message.find("Subject: s"), std::string::npos) << c.message;
  // What we send is a message we would take again.
  EXPECT_EQ(compose(baseRequest(c.message)).problem, ComposeProblem::none);
}

// Found by mime_compose_fuzz in CI: GMime writes a header field holding a NUL
// cut short at the NUL, and its line end goes with it, so the next line of
// the message (here the body) became part of the header block.
TEST(ComposeTest, NulBytes) {
  std::string m("To: bob@example.com\r\nContent-Type: text/plain; cha\0rset=x\r\n\r\n"
                "X-Not-A-Header: body\r\n\r\nmore\r\n",
                91);
  auto c = compose(baseRequest(m));
  EXPECT_EQ(c.problem, ComposeProblem::invalid_mime);
  EXPECT_TRUE(c.message.empty());
  EXPECT_NE(c.detail.find("NUL"), std::string::npos) << c.detail;

  // Stored mail the user forwards or answers is used without its NUL bytes.
  std::string orig("From: carol@example.com\r\nSubject: a\0b\r\nMessage-ID: <n@x>\r\n\r\n"
                   "te\0xt\r\n",
                   67);
  for (auto kind : {ComposeKind::forward, ComposeKind::reply}) {
    auto r = baseRequest("To: b@example.com\r\n\r\nsee below\r\n");
    r.kind = kind;
    r.original = orig;
    auto out = compose(r);
    ASSERT_EQ(out.problem, ComposeProblem::none) << out.detail;
    EXPECT_EQ(out.message.find('\0'), std::string::npos);
    EXPECT_EQ(compose(baseRequest(out.message)).problem, ComposeProblem::none) << out.message;
    if (kind == ComposeKind::forward) {
      EXPECT_NE(out.message.find("Subject: ab\r\nMessage-ID: <n@x>\r\n"), std::string::npos)
          << out.message;
    } else {
      EXPECT_NE(out.message.find("> text"), std::string::npos) << out.message;
      EXPECT_NE(out.message.find("In-Reply-To: <n@x>"), std::string::npos) << out.message;
    }
  }
}

TEST(ComposeTest, BadOriginalIsInvalidMime) {
  auto r = baseRequest("To: b@example.com\r\n\r\nx\r\n");
  r.kind = ComposeKind::forward;
  r.original = "garbage";
  EXPECT_EQ(compose(r).problem, ComposeProblem::invalid_mime);
}

}  // namespace
}  // namespace rampart::mime
