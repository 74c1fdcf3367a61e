#include "review/reader.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace spamgate::review {
namespace {

namespace fs = std::filesystem;

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("review-reader-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  static std::string gzip(const std::string& text) {
    std::string out(compressBound(static_cast<uLong>(text.size())) + 64, '\0');
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // +16: gzip wrapper
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
  }
  std::vector<std::string> lines(const std::string& path, bool* ok = nullptr) {
    std::vector<std::string> out;
    std::string error;
    const bool read = forEachLine(
        path, [&](std::string_view l) { out.emplace_back(l); }, error);
    if (ok != nullptr) *ok = read;
    return out;
  }
  fs::path dir_;
};

TEST_F(ReaderTest, PlainLinesWithoutEmptyOnesAndCr) {
  const auto path = write("plain.gz", "one\r\n\ntwo\nthree");  // the name says gzip; it is not
  EXPECT_EQ(lines(path), (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(ReaderTest, GzipByMagicWhateverTheName) {
  const auto path = write("decisions.log", gzip("a\nb\n"));
  EXPECT_EQ(lines(path), (std::vector<std::string>{"a", "b"}));
}

TEST_F(ReaderTest, ConcatenatedGzipMembers) {
  const auto path = write("two-members", gzip("a\nb") + gzip("c\n"));
  EXPECT_EQ(lines(path), (std::vector<std::string>{"a", "bc"}));
}

TEST_F(ReaderTest, TruncatedGzipKeepsWhatCameBefore) {
  std::string big;
  for (int i = 0; i < 20000; ++i)
    big += "line " + std::to_string(i) + "\n";
  const std::string packed = gzip(big);
  const auto path = write("cut.gz", packed.substr(0, packed.size() / 2));
  bool ok = true;
  const auto got = lines(path, &ok);
  EXPECT_FALSE(ok);
  ASSERT_GT(got.size(), 100u);
  EXPECT_EQ(got[100], "line 100");
}

TEST_F(ReaderTest, LinesLongerThanTheBuffer) {
  const std::string long_line(3u << 20, 'x');
  const auto path = write("long", "a\n" + long_line + "\nb\n");
  const auto got = lines(path);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1], long_line);
  EXPECT_EQ(got[2], "b");
}

TEST_F(ReaderTest, MissingFile) {
  std::string error;
  EXPECT_FALSE(forEachLine((dir_ / "absent").string(), [](std::string_view) {}, error));
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

}  // namespace
}  // namespace spamgate::review
