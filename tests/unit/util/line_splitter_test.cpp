#include "util/line_splitter.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using mail::util::LineSplitter;

namespace {

struct Got {
  std::string text;
  bool crlf;
  bool too_long;
  bool operator==(const Got&) const = default;
};

// Feeds `input` in pieces cut at the given positions and collects every line.
std::vector<Got> split(std::string_view input, std::size_t max, const std::vector<std::size_t>& cuts) {
  LineSplitter s(max);
  std::vector<Got> out;
  std::size_t start = 0;
  auto feed = [&](std::string_view piece) {
    std::string owned(piece);  // the caller's buffer changes between reads
    std::string_view in = owned;
    while (!in.empty())
      if (auto l = s.next(in)) out.push_back({std::string(l->text), l->ending == LineSplitter::Ending::crlf, l->too_long});
  };
  for (auto c : cuts) {
    feed(input.substr(start, c - start));
    start = c;
  }
  feed(input.substr(start));
  return out;
}

}  // namespace

TEST_CASE("lines come out the same however the input is cut") {
  const std::string input = "EHLO a\r\nbare lf\n\r\nx\ry\r\n.\r\n";
  const std::vector<Got> want = {{"EHLO a", true, false}, {"bare lf", false, false}, {"", true, false},
                                 {"x\ry", true, false},   {".", true, false}};
  for (std::size_t i = 0; i <= input.size(); ++i) {
    for (std::size_t j = i; j <= input.size(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(split(input, 64, {i, j}) == want);
    }
  }
}

TEST_CASE("the limit counts the line ending; one octet more is too long") {
  // max 8: "1234567\n" (8 octets) fits, "123456\r\n" fits, "1234567\r\n" (9) does not.
  CHECK(split("1234567\n", 8, {}) == std::vector<Got>{{"1234567", false, false}});
  CHECK(split("123456\r\n", 8, {}) == std::vector<Got>{{"123456", true, false}});
  CHECK(split("1234567\r\n", 8, {}) == std::vector<Got>{{"", false, true}});
}

TEST_CASE("an overlong line is reported once, never buffered, and the next line is read normally") {
  std::string big(100000, 'x');
  std::string input = "ok\r\n" + big + "\r\nnext\r\n";
  for (std::size_t cut : {std::size_t{1}, std::size_t{5}, std::size_t{600}, input.size() - 7}) {
    LineSplitter s(512);
    std::vector<Got> out;
    std::string_view in = input;
    std::string_view first = in.substr(0, cut), rest = in.substr(cut);
    for (auto piece : {first, rest}) {
      while (!piece.empty()) {
        if (auto l = s.next(piece)) out.push_back({std::string(l->text), l->ending == LineSplitter::Ending::crlf, l->too_long});
        CHECK(s.pending() <= 512);
      }
    }
    CHECK(out == std::vector<Got>{{"ok", true, false}, {"", false, true}, {"next", true, false}});
  }
}

TEST_CASE("an unfinished line is held until its end arrives, and reset() forgets it") {
  LineSplitter s(100);
  std::string_view a = "MAIL FR";
  CHECK_FALSE(s.next(a).has_value());
  CHECK(s.pending() == 7);
  s.reset();
  std::string_view b = "QUIT\r\n";
  auto l = s.next(b);
  REQUIRE(l);
  CHECK(l->text == "QUIT");
}
