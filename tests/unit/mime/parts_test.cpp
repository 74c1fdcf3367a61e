#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "mime/message.h"
#include "test_util.h"

namespace spamgate::mime {
namespace {

using test::contains;
using test::crlf;

constexpr std::string_view kNested = R"(Subject: nested
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble is not a part
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

plain alternative
--inner
Content-Type: text/html; charset=utf-8

<p>html alternative</p>
--inner--
--outer
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

aGlkZGVuIGJpbmFyeQ==
--outer
Content-Type: message/rfc822

Subject: inner message
Content-Type: text/plain

text of the attached message
--outer--
epilogue
)";

TEST(MimeParts, NestedMultipartAndAttachedMessage) {
  const Message m = parseMessage(crlf(kNested));
  EXPECT_EQ(m.stats.parts, 4u);  // plain, html, octet-stream, the attached message's text
  EXPECT_EQ(m.stats.depth, 2u);
  EXPECT_FALSE(m.stats.truncated);
  EXPECT_EQ(m.body, "nested\nplain alternative\nhtml alternative\ntext of the attached message\n");
  EXPECT_TRUE(contains(m.rawbody, "<p>html alternative</p>"));
  EXPECT_FALSE(contains(m.rawbody, "hidden binary"));
  EXPECT_FALSE(contains(m.rawbody, "preamble"));
  EXPECT_FALSE(contains(m.rawbody, "\r"));
}

TEST(MimeParts, BodyIsParagraphsRawbodyKeepsLines) {
  const Message m =
      parseMessage(crlf("Subject: =?UTF-8?Q?s=C3=BCbject?=  with   space\n\n"
                        "line one\nline   two\n\n\n  second\tparagraph \n"));
  EXPECT_EQ(m.body,
            "s\xC3\xBC"
            "bject with space\nline one line two\nsecond paragraph\n");
  EXPECT_EQ(m.rawbody, "line one\nline   two\n\n\n  second\tparagraph \n");
}

TEST(MimeParts, Base64AndQuotedPrintable) {
  const Message m = parseMessage(crlf(R"(Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain
Content-Transfer-Encoding: base64

VGhpcyBpcyBi
YXNlNjQgdGV4dA==
--b
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

soft=
 break and caf=E9 and =3D sign, a very long line that contin=
ues here
--b--
)"));
  EXPECT_TRUE(contains(m.rawbody, "This is base64 text"));
  EXPECT_TRUE(contains(m.rawbody, "soft break and caf\xC3\xA9 and = sign"));
  EXPECT_TRUE(contains(m.rawbody, "line that continues here"));
  EXPECT_EQ(m.stats.decode_errors, 0u);
}

TEST(MimeParts, BadBase64IsCountedNotFatal) {
  const Message m = parseMessage(crlf(R"(Content-Type: text/plain
Content-Transfer-Encoding: base64

SGVsbG8g!!!d29y
bGQ=####
@@@
)"));
  EXPECT_TRUE(contains(m.rawbody, "Hello world"));
  EXPECT_EQ(m.stats.decode_errors, 1u);
}

TEST(MimeParts, NoMimeStructureIsOnePlainPart) {
  const Message m = parseMessage("From: a@b\n\nJust text, www.example.com.\n");
  EXPECT_EQ(m.stats.parts, 1u);
  EXPECT_EQ(m.body, "Just text, www.example.com.\n");
  ASSERT_EQ(m.uris.size(), 1u);
  EXPECT_EQ(m.uris[0], "http://www.example.com");
}

TEST(MimeParts, ConcurrentCallsAgree) {
  const std::string raw = crlf(kNested);
  const Message expected = parseMessage(raw);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        const Message m = parseMessage(raw);
        if (m.body != expected.body || m.rawbody != expected.rawbody) ++mismatches;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

std::string readTestFile(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(SPAMGATE_TESTDATA) / "content" / name;
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

constexpr std::string_view kGtube =
    "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

TEST(MimeGtube, WholeStringInBody) {
  const std::string raw = readTestFile("gtube.eml");
  if (raw.empty()) GTEST_SKIP() << "no " << SPAMGATE_TESTDATA << "/content/gtube.eml";
  const Message m = parseMessage(raw);
  EXPECT_TRUE(contains(m.body, kGtube));
  EXPECT_TRUE(m.body.starts_with("GTUBE test\n"));
}

TEST(MimeGtube, SplitAndNearMissAreNotOneString) {
  const std::string split = readTestFile("gtube-split.eml");
  const std::string near = readTestFile("gtube-nearmiss.eml");
  if (split.empty() || near.empty()) GTEST_SKIP() << "no GTUBE variants in " SPAMGATE_TESTDATA;
  const Message m = parseMessage(split);
  EXPECT_FALSE(contains(m.body, kGtube));
  EXPECT_FALSE(contains(m.rawbody, kGtube));
  EXPECT_TRUE(contains(m.body, "GTUBE-STANDARD- ANTI-UBE"));  // one paragraph, lines joined
  EXPECT_FALSE(contains(parseMessage(near).body, kGtube));
}

}  // namespace
}  // namespace spamgate::mime
