// mime::plainBodyFast() and extractPlainPrefix() against the GMime path
// (extractBodiesGmime): over a generated corpus and random mutations of it,
// whenever the fast path claims a message its body must be byte-identical.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "codec/mime/body.h"

namespace rampart::mime {
namespace {

struct Generated {
  std::string message;
  bool should_claim = false;
};

std::vector<Generated> corpus() {
  struct Header {
    std::string text;  // "" for none; "\n" stands for the line ending
    bool fast;
  };
  const std::vector<Header> types = {
      {"", true},
      {"Content-Type: text/plain\n", true},
      {"Content-Type: text/plain; charset=us-ascii\n", true},
      {"Content-Type: text/plain; charset=\"UTF-8\"\n", true},
      {"content-type:TEXT/Plain;charset=utf-8; format=flowed  \n", true},
      {"Content-Type: text/plain; charset=iso-8859-1\n", false},
      {"Content-Type: text/plain;\n charset=utf-8\n", false},
      {"Content-Type: text/html; charset=utf-8\n", false},
      {"Content-Type: multipart/alternative; boundary=b\n", false},
      {"Content-Type: text/plain; charset*=utf-8''x\n", false},
  };
  const std::vector<Header> encodings = {
      {"", true},
      {"Content-Transfer-Encoding: 7bit\n", true},
      {"Content-Transfer-Encoding: 8BIT \n", true},
      {"Content-Transfer-Encoding: binary\n", true},
      {"Content-Transfer-Encoding: quoted-printable\n", false},
      {"Content-Transfer-Encoding: base64\n", false},
  };
  struct Body {
    std::string text;
    bool ascii, utf8;
  };
  const std::vector<Body> bodies = {
      {"", true, true},
      {"hello", true, true},
      {"hello\n", true, true},
      {"first line  \n\nthird\t \n   \n\n", true, true},
      {std::string(10000, 'x') + "\n" + std::string(3000, 'y'), true, true},
      {"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80 caf\xc3\xa9\n", false, true},
      {"bad \xff\xfe utf-8\n", false, false},
      {"cut \xc3", false, false},
      {"before\0after\n", true, true},
      {"From me\n--b\n\n.\n", true, true},
      {"\n\n\n", true, true},
      {"=41=42 not decoded\n", true, true},
  };
  std::vector<Generated> out;
  for (std::string eol : {"\r\n", "\n"}) {
    auto ending = [&](std::string s) {
      std::string r;
      for (char c : s) {
        if (c == '\n') {
          r += eol;
        } else {
          r.push_back(c);
        }
      }
      return r;
    };
    for (const Header& t : types) {
      for (const Header& e : encodings) {
        for (const Body& b : bodies) {
          bool ascii_only = t.text.find("us-ascii") != std::string::npos;
          Generated g;
          g.message = ending(
                          "From: a@example.org\nTo: b@example.org\nSubject: test\n"
                          "MIME-Version: 1.0\n" +
                          t.text + e.text + "\n") +
                      ending(b.text);
          g.should_claim = t.fast && e.fast && (ascii_only ? b.ascii : b.utf8);
          out.push_back(std::move(g));
        }
      }
    }
  }
  return out;
}

void expectSame(const std::string& m) {
  Bodies ref = extractBodiesGmime(m);
  Bodies got = extractBodies(m);
  EXPECT_EQ(got.plain, ref.plain) << m;
  EXPECT_EQ(got.html, ref.html) << m;
  EXPECT_EQ(got.html_native, ref.html_native) << m;
  if (auto fast = plainBodyFast(m)) {
    EXPECT_EQ(std::string(*fast), ref.plain) << m;
    EXPECT_TRUE(ref.html.empty()) << m;
  }
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{256}, std::size_t{1} << 20}) {
    PlainPrefix p = extractPlainPrefix(m, n);
    EXPECT_EQ(p.prefix, ref.plain.substr(0, n)) << m;
    EXPECT_EQ(p.total_size, ref.plain.size()) << m;
    EXPECT_EQ(p.complete, ref.plain.size() <= n) << m;
  }
}

TEST(PlainBodyFast, MatchesGmimeOverCorpus) {
  std::size_t claimed = 0;
  for (const Generated& g : corpus()) {
    bool got = plainBodyFast(g.message).has_value();
    EXPECT_EQ(got, g.should_claim) << g.message;
    claimed += got ? 1 : 0;
    expectSame(g.message);
  }
  EXPECT_GT(claimed, 100u);
}

TEST(PlainBodyFast, MatchesGmimeOverMutations) {
  std::vector<Generated> base = corpus();
  std::mt19937 rng(12345);
  const std::string alphabet("\r\n\0 \t:;=\"\x80\xc3\xa9xA-", 16);
  std::size_t claimed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string m = base[rng() % base.size()].message;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !m.empty(); ++k) {
      std::size_t at = rng() % m.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          m[at] = c;
          break;
        case 1:
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          m.erase(at, 1);
      }
    }
    if (plainBodyFast(m)) ++claimed;
    expectSame(m);
    if (HasFailure()) return;
  }
  EXPECT_GT(claimed, 300u);
}

TEST(PlainBodyFast, Shapes) {
  EXPECT_EQ(plainBodyFast("Subject: x\r\n\r\nhi\r\n").value(), "hi\r\n");
  EXPECT_EQ(plainBodyFast("Subject: x\n\n").value(), "");
  EXPECT_FALSE(plainBodyFast(""));
  EXPECT_FALSE(plainBodyFast("Subject: no body"));
  EXPECT_FALSE(plainBodyFast("\r\nbody only\r\n"));
  EXPECT_FALSE(plainBodyFast("Content-Disposition: attachment\r\n\r\nx"));
  EXPECT_FALSE(plainBodyFast(" folded first\r\n\r\nx"));
  EXPECT_FALSE(plainBodyFast("Content-Type: text/plain\r\nContent-Type: text/plain\r\n\r\nx"));
  EXPECT_FALSE(plainBodyFast("Bad Name: x\r\n\r\nbody"));
  PlainPrefix p = extractPlainPrefix("Subject: x\r\n\r\n0123456789", 4);
  EXPECT_EQ(p.prefix, "0123");
  EXPECT_EQ(p.total_size, 10u);
  EXPECT_FALSE(p.complete);
  // Not the fast shape: the prefix still comes, from GMime.
  p = extractPlainPrefix("Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9 au lait", 4);
  EXPECT_EQ(p.prefix, "caf\xc3");
  EXPECT_EQ(p.total_size, 13u);
}

}  // namespace
}  // namespace rampart::mime
