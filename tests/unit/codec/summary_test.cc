#include "codec/mime/summary.h"

#include <glib.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

namespace rampart::mime {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(RAMPART_CODEC_TEST_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool validUtf8(const std::string& s) {
  return g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr);
}

std::string withSubject(const std::string& subject) {
  return "From: a@example.org\r\nTo: b@example.org\r\nSubject: " + subject +
         "\r\n\r\nbody\r\n";
}

TEST(Summarize, MultipartMixedWithAttachments) {
  std::string bytes = fixture("multipart_mixed.eml");
  Summary s = summarize(bytes);
  EXPECT_TRUE(s.well_formed);
  EXPECT_FALSE(s.truncated);
  EXPECT_EQ(s.from, "Zo\xc3\xab <zoe@example.org>");
  EXPECT_EQ(s.to, "Bob <bob@example.org>, carol@example.org");
  EXPECT_EQ(s.cc, "dave@example.org");
  EXPECT_EQ(s.reply_to, "replies@example.org");
  EXPECT_EQ(s.subject, "Quarterly report");
  EXPECT_EQ(s.message_id, "<report-1@example.org>");
  EXPECT_EQ(s.in_reply_to, "<prev@example.org>");
  EXPECT_EQ(s.thread_topic, "Quarterly report");
  EXPECT_EQ(s.date, 1699954200);
  EXPECT_EQ(s.importance, Importance::high);
  EXPECT_EQ(s.size, bytes.size());
  EXPECT_EQ(s.content_type, "multipart/mixed");
  EXPECT_EQ(s.message_class, "IPM.Note");
  EXPECT_EQ(s.preview, "Hello Bob, here is the report. Caf\xc3\xa9 at ten?");
  ASSERT_EQ(s.attachments.size(), 2u);
  const Attachment& logo = s.attachments[0];
  EXPECT_EQ(logo.content_type, "image/png");
  EXPECT_EQ(logo.content_id, "logo@example.org");
  EXPECT_TRUE(logo.is_inline);
  EXPECT_EQ(logo.size, 32u);
  EXPECT_EQ(logo.part_path, "1.2");
  const Attachment& pdf = s.attachments[1];
  EXPECT_EQ(pdf.filename, "report.pdf");
  EXPECT_EQ(pdf.content_type, "application/pdf");
  EXPECT_EQ(pdf.content_id, "");
  EXPECT_FALSE(pdf.is_inline);
  EXPECT_EQ(pdf.size, 275u);  // decoded, not the base64 length
  EXPECT_EQ(pdf.part_path, "2");
}

TEST(Summarize, Rfc2231AndEncodedFilenamesAndCharsets) {
  Summary s = summarize(fixture("rfc2231_filename.eml"));
  EXPECT_TRUE(s.well_formed);
  EXPECT_EQ(s.subject, "Caf\xc3\xa9 cr\xc3\xa8me");
  EXPECT_EQ(s.preview, "Voil\xc3\xa0 le r\xc3\xa9sum\xc3\xa9.");  // Latin-1 body converted
  ASSERT_EQ(s.attachments.size(), 2u);
  EXPECT_EQ(s.attachments[0].filename, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt");  // continuation
  EXPECT_EQ(s.attachments[0].content_type, "text/plain");
  EXPECT_EQ(s.attachments[0].part_path, "2");
  EXPECT_EQ(s.attachments[1].filename, "caf\xc3\xa9 menu.doc");
  EXPECT_EQ(s.attachments[1].size, 3u);
  EXPECT_EQ(s.date, 1577836800);
}

TEST(Summarize, EncodedWordSubjects) {
  EXPECT_EQ(summarize(withSubject("=?ISO-8859-1?Q?Caf=E9_cr=E8me?=")).subject,
            "Caf\xc3\xa9 cr\xc3\xa8me");
  EXPECT_EQ(summarize(withSubject("=?iso-8859-1?b?Q2Fm6Q==?=")).subject, "Caf\xc3\xa9");
  EXPECT_EQ(summarize(withSubject("=?UTF-8?B?w6lsw6h2ZSDwn5iA?=")).subject,
            "\xc3\xa9l\xc3\xa8ve \xf0\x9f\x98\x80");
  EXPECT_EQ(summarize(withSubject("=?utf-8?q?=C3=BCber?= =?utf-8?q?_alles?=")).subject,
            "\xc3\xbc" "ber alles");
  EXPECT_EQ(summarize(withSubject("Re: =?UTF-8?Q?na=C3=AFve?= idea")).subject,
            "Re: na\xc3\xafve idea");
  // Folded header.
  EXPECT_EQ(summarize(withSubject("a long\r\n subject")).subject, "a long subject");
}

TEST(Summarize, Raw8BitHeaders) {
  Summary utf8 = summarize(withSubject("Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln"));
  EXPECT_EQ(utf8.subject, "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln");
  Summary from = summarize("From: J\xc3\xb6rg <joerg@example.org>\r\nSubject: x\r\n\r\nhi\r\n");
  EXPECT_EQ(from.from, "J\xc3\xb6rg <joerg@example.org>");
  // Latin-1 bytes are not UTF-8: they still come out as valid UTF-8.
  Summary latin = summarize(withSubject("caf\xe9"));
  EXPECT_TRUE(validUtf8(latin.subject));
  EXPECT_EQ(latin.subject, "caf\xc3\xa9");
}

TEST(Summarize, Importance) {
  auto with = [](const std::string& h) {
    return summarize("From: a@example.org\r\n" + h + "\r\nSubject: x\r\n\r\nbody\r\n").importance;
  };
  EXPECT_EQ(with("Importance: High"), Importance::high);
  EXPECT_EQ(with("Importance: low"), Importance::low);
  EXPECT_EQ(with("X-Priority: 5 (Lowest)"), Importance::low);
  EXPECT_EQ(with("X-Priority: 2"), Importance::high);
  EXPECT_EQ(with("X-Priority: 3"), Importance::normal);
  EXPECT_EQ(with("Priority: urgent"), Importance::high);
  EXPECT_EQ(with("Priority: non-urgent"), Importance::low);
  EXPECT_EQ(with("X-Mailer: test"), Importance::normal);
}

TEST(Summarize, SmimeMessageClasses) {
  Summary signed_msg = summarize(fixture("smime_signed.eml"));
  EXPECT_EQ(signed_msg.message_class, "IPM.Note.SMIME.MultipartSigned");
  EXPECT_EQ(signed_msg.content_type, "multipart/signed");
  EXPECT_EQ(signed_msg.preview, "Signed hello.");
  EXPECT_TRUE(signed_msg.attachments.empty());  // the signature is not an attachment

  std::string x = fixture("smime_signed.eml");
  x.replace(x.find("application/pkcs7-signature\""), 27, "application/x-pkcs7-signature");
  EXPECT_EQ(summarize(x).message_class, "IPM.Note.SMIME.MultipartSigned");

  Summary enveloped = summarize(fixture("smime_enveloped.eml"));
  EXPECT_EQ(enveloped.message_class, "IPM.Note.SMIME");
  ASSERT_EQ(enveloped.attachments.size(), 1u);
  EXPECT_EQ(enveloped.attachments[0].filename, "smime.p7m");
  EXPECT_EQ(enveloped.attachments[0].part_path, "1");
  EXPECT_TRUE(enveloped.preview.empty());

  std::string pgp = "Subject: pgp\r\nContent-Type: multipart/signed; "
                    "protocol=\"application/pgp-signature\"; boundary=b\r\n\r\n--b\r\n"
                    "Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: "
                    "application/pgp-signature\r\n\r\nsig\r\n--b--\r\n";
  EXPECT_EQ(summarize(pgp).message_class, "IPM.Note");
}

TEST(Summarize, EmptyAndHeaderOnlyMessages) {
  Summary empty = summarize("");
  EXPECT_FALSE(empty.well_formed);
  EXPECT_EQ(empty.size, 0u);
  EXPECT_EQ(empty.message_class, "IPM.Note");
  EXPECT_TRUE(empty.subject.empty());
  EXPECT_TRUE(empty.attachments.empty());

  Summary headers = summarize("Subject: only headers\r\n\r\n");
  EXPECT_TRUE(headers.well_formed);
  EXPECT_EQ(headers.subject, "only headers");
  EXPECT_TRUE(headers.preview.empty());
  EXPECT_EQ(headers.content_type, "text/plain");
  EXPECT_EQ(headers.date, 0);
}

TEST(Summarize, TruncatedMessagesNeverCrashAndKeepWhatParsed) {
  std::string bytes = fixture("multipart_mixed.eml");
  for (std::size_t n = 0; n <= bytes.size(); n += 7) {
    Summary s = summarize(std::string_view(bytes).substr(0, n));
    EXPECT_EQ(s.size, n);
    EXPECT_TRUE(validUtf8(s.preview));
    EXPECT_TRUE(validUtf8(s.subject));
  }
  // Cut inside the PDF: headers and the parts before it are still there.
  Summary cut = summarize(std::string_view(bytes).substr(0, bytes.find("JVBER") + 20));
  EXPECT_FALSE(cut.well_formed);
  EXPECT_EQ(cut.subject, "Quarterly report");
  EXPECT_FALSE(cut.preview.empty());
}

TEST(Summarize, GarbageNeverCrashes) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 300; ++i) {
    std::string junk(rng() % 2048, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (i % 3 == 0) junk = "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n" + junk;
    Summary s = summarize(junk);
    EXPECT_EQ(s.size, junk.size());
    EXPECT_TRUE(validUtf8(s.subject));
    EXPECT_TRUE(validUtf8(s.preview));
    EXPECT_TRUE(validUtf8(s.from));
  }
  Summary binary = summarize(std::string("\0\0\0\xff\xfe", 5));
  EXPECT_EQ(binary.size, 5u);
}

std::string nested(int depth) {
  std::string head, tail;
  for (int i = 0; i < depth; ++i) {
    std::string b = "b" + std::to_string(i);
    head += "Content-Type: multipart/mixed; boundary=\"" + b + "\"\r\n\r\n--" + b + "\r\n";
    tail = "\r\n--" + b + "--\r\n" + tail;
  }
  return "Subject: deep\r\n" + head +
         "Content-Type: application/octet-stream; name=\"deep.bin\"\r\n\r\nxyz" + tail;
}

TEST(Summarize, NestingBeyondTheLimitIsCut) {
  SummaryLimits limits;
  limits.max_depth = 5;
  Summary shallow = summarize(nested(3), limits);
  EXPECT_FALSE(shallow.truncated);
  ASSERT_EQ(shallow.attachments.size(), 1u);
  EXPECT_EQ(shallow.attachments[0].filename, "deep.bin");
  EXPECT_EQ(shallow.attachments[0].part_path, "1.1.1");

  Summary deep = summarize(nested(20), limits);
  EXPECT_TRUE(deep.truncated);
  EXPECT_TRUE(deep.attachments.empty());
  EXPECT_EQ(deep.subject, "deep");

  // Far past any sane depth: GMime's own guard and ours both hold.
  Summary abusive = summarize(nested(3000));
  EXPECT_TRUE(abusive.truncated || !abusive.well_formed);
}

TEST(Summarize, AttachmentCountLimit) {
  std::string msg = "Subject: many\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 5; ++i) {
    msg += "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
           "filename=f" + std::to_string(i) + ".bin\r\n\r\ndata\r\n";
  }
  msg += "--b--\r\n";
  SummaryLimits limits;
  limits.max_attachments = 2;
  Summary s = summarize(msg, limits);
  EXPECT_TRUE(s.truncated);
  ASSERT_EQ(s.attachments.size(), 2u);
  EXPECT_EQ(s.attachments[1].filename, "f1.bin");
  EXPECT_EQ(summarize(msg).attachments.size(), 5u);
}

TEST(Summarize, PreviewIsFoldedTruncatedAndValidUtf8) {
  std::string body;
  for (int i = 0; i < 400; ++i) body += "\xc3\xa9";
  Summary s = summarize("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body);
  EXPECT_TRUE(validUtf8(s.preview));
  EXPECT_EQ(g_utf8_strlen(s.preview.c_str(), -1), 255);

  Summary folded = summarize("Subject: x\r\n\r\n  one\r\n\r\n\ttwo   three  \r\n");
  EXPECT_EQ(folded.preview, "one two three");

  SummaryLimits limits;
  limits.max_preview_chars = 5;
  EXPECT_EQ(summarize("Subject: x\r\n\r\n\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac abc", limits).preview,
            "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac a");

  // Invalid UTF-8 in a body declared UTF-8 is repaired, not passed on.
  Summary bad = summarize("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nab\xff\xfe");
  EXPECT_TRUE(validUtf8(bad.preview));
}

TEST(Summarize, HtmlOnlyPreviewStripsMarkup) {
  Summary s = summarize(
      "Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
      "<html><head><style>p { color: red }</style><script>var a = 1 < 2;</script></head>"
      "<body><!-- hidden --><p>Hi&nbsp;there &amp; <b>you</b></p></body></html>");
  EXPECT_EQ(s.preview, "Hi there & you");
}

TEST(Summarize, CharsetConversion) {
  Summary s = summarize(
      "Subject: x\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\n\x93quoted\x94 \x80");
  EXPECT_EQ(s.preview, "\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x82\xac");
  Summary qp = summarize(
      "Subject: x\r\nContent-Type: text/plain; charset=iso-8859-15\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nprix: 5 =A4\r\n");
  EXPECT_EQ(qp.preview, "prix: 5 \xe2\x82\xac");
}

TEST(Summarize, AttachedMessage) {
  Summary s = summarize(
      "Subject: fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
      "Subject: Inner\r\nFrom: x@example.org\r\n\r\ninner body\r\n--b--\r\n");
  EXPECT_EQ(s.preview, "see attached");
  ASSERT_EQ(s.attachments.size(), 1u);
  EXPECT_EQ(s.attachments[0].filename, "Inner.eml");
  EXPECT_EQ(s.attachments[0].content_type, "message/rfc822");
  EXPECT_GT(s.attachments[0].size, 0u);
}

TEST(Summarize, ThreadSafe) {
  std::string bytes = fixture("multipart_mixed.eml");
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (summarize(bytes).attachments.size() == 2) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 200);
}

}  // namespace
}  // namespace rampart::mime
