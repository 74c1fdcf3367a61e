#include <gtest/gtest.h>

#include "mime/detail.h"
#include "mime/message.h"
#include "test_util.h"

namespace spamgate::mime {
namespace {

using detail::renderHtml;
using test::contains;
using test::crlf;

TEST(MimeHtml, TagsDroppedEntitiesDecoded) {
  const auto out = renderHtml(
      "<b>Fr&eacute;e</b> &amp; <i>cheap</i> &#36;5 &#x20AC;3&nbsp;now &bogus; a <3 b<i");
  EXPECT_EQ(out.text,
            "Fr\xC3\xA9"
            "e & cheap $5 \xE2\x82\xAC"
            "3 now &bogus; a <3 b");  // a tag cut by the end is dropped
}

TEST(MimeHtml, BlocksAndBreaksMakeLines) {
  const auto out = renderHtml(
      "<html><head><title>T</title></head><body>one<br>two<P>three</p>"
      "<div>four</div><table><tr><td>a</td><td>b</td></tr></table>");
  EXPECT_EQ(out.text, "\n\nT\n\none\ntwo\n\nthree\n\n\n\nfour\n\n\n\n\n\n a  b \n\n\n\n");
}

TEST(MimeHtml, ScriptStyleAndCommentsDropped) {
  const auto out = renderHtml(
      "a<script type=x>if (1 < 2) { hidden(); }</SCRIPT >b<style>.x{}</style>c"
      "<!-- <p>commented</p> -->d<!DOCTYPE html>e");
  EXPECT_EQ(out.text, "abcde");
  EXPECT_EQ(renderHtml("x<script>never closed").text, "x");
}

TEST(MimeHtml, SourceLineBreaksAreSpaces) {
  EXPECT_EQ(renderHtml("split\nacross\r\nlines").text, "split across  lines");
}

TEST(MimeHtml, LinksFromAttributes) {
  const auto out = renderHtml(
      "<a HREF=\"http://a.example/?x=1&amp;y=2\">a</a><img src='//cdn.example/i.png'>"
      "<form action=https://f.example/post><a href=relative/path>r</a><a title=\"> tricky\""
      " href=\"mailto:x@y.example\">m</a>");
  ASSERT_EQ(out.links.size(), 5u);
  EXPECT_EQ(out.links[0], "http://a.example/?x=1&y=2");
  EXPECT_EQ(out.links[1], "//cdn.example/i.png");
  EXPECT_EQ(out.links[2], "https://f.example/post");
  EXPECT_EQ(out.links[3], "relative/path");
  EXPECT_EQ(out.links[4], "mailto:x@y.example");
  EXPECT_EQ(out.text, "a\n\nrm");  // <form> is a block
}

TEST(MimeUris, FromTextWithPunctuationAndDuplicates) {
  detail::UriSet uris(100);
  uris.scanText(
      "See http://a.example/path?q=1, or (https://b.example/x). Mail mailto:me@c.example! "
      "Visit WWW.D.example/page; again http://a.example/path?q=1 and ftp://e.example/f.txt "
      "and http://en.example/wiki/Foo_(bar) not xhttp://no.example nor www. alone nor http://");
  const std::vector<std::string> expected{
      "http://a.example/path?q=1", "https://b.example/x",   "mailto:me@c.example",
      "http://WWW.D.example/page", "ftp://e.example/f.txt", "http://en.example/wiki/Foo_(bar)"};
  EXPECT_EQ(uris.take(), expected);
}

TEST(MimeUris, AttributeValuesNeedAScheme) {
  detail::UriSet uris(100);
  uris.add("  http://a.example/\n\tfolded ");
  uris.add("//cdn.example/x");
  uris.add("javascript:alert(1)");
  uris.add("relative.html");
  uris.add("www.w.example");
  const std::vector<std::string> expected{"http://a.example/folded", "http://cdn.example/x",
                                          "http://www.w.example"};
  EXPECT_EQ(uris.take(), expected);
}

TEST(MimeUris, LimitIsKept) {
  detail::UriSet uris(2);
  uris.scanText("http://1.example http://2.example http://3.example http://1.example");
  EXPECT_TRUE(uris.truncated());
  EXPECT_EQ(uris.take().size(), 2u);
}

TEST(MimeHtml, HtmlPartInTheViews) {
  const Message m = parseMessage(crlf(R"(Subject: offer
Content-Type: text/html; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

<html><body><p>Buy&nbsp;now =96 <a href=3D"http://shop.example/buy">here</a></p>
<p>or visit www.other.example</p><script>var u=3D"http://hidden.example";</script>
</body></html>
)"));
  EXPECT_EQ(m.body, "offer\nBuy now \xE2\x80\x93 here\nor visit www.other.example\n");
  EXPECT_TRUE(contains(m.rawbody, "<a href=\"http://shop.example/buy\">"));
  const std::vector<std::string> expected{"http://shop.example/buy", "http://www.other.example"};
  EXPECT_EQ(m.uris, expected);
}

}  // namespace
}  // namespace spamgate::mime
