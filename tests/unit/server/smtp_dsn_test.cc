#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include "server/smtp/dsn.h"

namespace rampart::server::smtp {
namespace {

BounceInput sample() {
  BounceInput in;
  in.reporting_mta = "mail.a.test";
  in.remote_mta = "relay.test";
  in.original_sender = "alice@a.test";
  in.recipients = {{"bob@b.test", "5.1.1", "550 5.1.1 <bob@b.test>: User unknown", "550 ..."},
                   {"carol@c.test", "4.4.7", "", "delivery time expired; last error: timed out"}};
  in.original =
      "From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: Hello\r\n"
      "Message-ID: <m1@a.test>\r\n\r\nSECRET BODY\r\n";
  in.arrival = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  in.now = in.arrival + std::chrono::hours(1);
  in.unique = "0123abcd";
  return in;
}

TEST(Dsn, StatusFor) {
  EXPECT_EQ(statusFor(550, "5.1.1", true), "5.1.1");
  EXPECT_EQ(statusFor(550, "", true), "5.0.0");
  EXPECT_EQ(statusFor(550, "4.1.1", true), "5.0.0");
  EXPECT_EQ(statusFor(0, "", true), "5.0.0");
}

TEST(Dsn, Date) {
  EXPECT_EQ(rfc5322Date(std::chrono::system_clock::time_point(std::chrono::seconds(0))),
            "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST(Dsn, StructureParsesWithGMime) {
  std::string dsn = buildBounce(sample());
  EXPECT_EQ(dsn.find("SECRET BODY"), std::string::npos);  // headers only
  EXPECT_NE(dsn.find("Diagnostic-Code: smtp; 550 5.1.1 <bob@b.test>: User unknown\r\n"),
            std::string::npos);
  EXPECT_NE(dsn.find("Status: 4.4.7\r\n"), std::string::npos);

  g_mime_init();
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(dsn.data(), dsn.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* message = g_mime_parser_construct_message(parser, nullptr);
  ASSERT_NE(message, nullptr);
  EXPECT_STREQ(g_mime_message_get_subject(message), "Undelivered Mail Returned to Sender");
  GMimeObject* top = g_mime_message_get_mime_part(message);
  ASSERT_TRUE(GMIME_IS_MULTIPART(top));
  GMimeContentType* ct = g_mime_object_get_content_type(top);
  EXPECT_TRUE(g_mime_content_type_is_type(ct, "multipart", "report"));
  EXPECT_STREQ(g_mime_content_type_get_parameter(ct, "report-type"), "delivery-status");
  GMimeMultipart* multipart = GMIME_MULTIPART(top);
  ASSERT_EQ(g_mime_multipart_get_count(multipart), 3);
  EXPECT_TRUE(g_mime_content_type_is_type(
      g_mime_object_get_content_type(g_mime_multipart_get_part(multipart, 0)), "text", "plain"));
  EXPECT_TRUE(g_mime_content_type_is_type(
      g_mime_object_get_content_type(g_mime_multipart_get_part(multipart, 1)), "message",
      "delivery-status"));
  EXPECT_TRUE(g_mime_content_type_is_type(
      g_mime_object_get_content_type(g_mime_multipart_get_part(multipart, 2)), "text",
      "rfc822-headers"));
  g_object_unref(message);
  g_object_unref(parser);
  g_object_unref(stream);
}

TEST(Dsn, DeliveryStatusFields) {
  std::string dsn = buildBounce(sample());
  auto part = dsn.substr(dsn.find("Content-Type: message/delivery-status"));
  part = part.substr(0, part.find("--=_rampart_dsn_"));
  EXPECT_NE(part.find("Reporting-MTA: dns; mail.a.test\r\n"), std::string::npos);
  EXPECT_NE(part.find("Final-Recipient: rfc822; bob@b.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                      "Remote-MTA: dns; relay.test\r\n"),
            std::string::npos);
  EXPECT_NE(part.find("Final-Recipient: rfc822; carol@c.test\r\nAction: failed\r\nStatus: 4.4.7\r\n"
                      "Last-Attempt-Date"),
            std::string::npos);
  auto headers = dsn.substr(dsn.find("Content-Type: text/rfc822-headers"));
  EXPECT_NE(headers.find("Subject: Hello\r\nMessage-ID: <m1@a.test>\r\n"), std::string::npos);
}

TEST(Dsn, HeaderCopyIsBounded) {
  auto in = sample();
  std::string big = "Subject: x\r\n";
  for (int i = 0; i < 100; ++i) big += "X-Pad: " + std::string(100, 'p') + "\r\n";
  big += "\r\nbody";
  in.original = big;
  in.max_header_bytes = 1000;
  std::string dsn = buildBounce(in);
  auto headers = dsn.substr(dsn.find("Content-Type: text/rfc822-headers"));
  EXPECT_LT(headers.size(), 1300u);
}

}  // namespace
}  // namespace rampart::server::smtp
