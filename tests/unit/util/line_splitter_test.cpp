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

// Feeds `input` in pieces cut at the given positions and collects every line. In split mode the
// pieces of a long line are joined again (each checked to be no longer than `max`).
std::vector<Got> split(std::string_view input, std::size_t max, const std::vector<std::size_t>& cuts,
                       LineSplitter::Overlong mode = LineSplitter::Overlong::discard, int* pieces = nullptr) {
  LineSplitter s(max, mode);
  std::vector<Got> out;
  std::string joined;
  std::size_t start = 0;
  auto feed = [&](std::string_view piece) {
    std::string owned(piece);  // the caller's buffer changes between reads
    std::string_view in = owned;
    while (!in.empty()) {
      auto l = s.next(in);
      if (!l) continue;
      CHECK(l->text.size() <= max + owned.size());  // held: at most max, plus the read at hand
      joined += l->text;
      if (l->partial) {
        CHECK(mode == LineSplitter::Overlong::split);
        if (pieces != nullptr) ++*pieces;
        continue;
      }
      out.push_back({joined, l->ending == LineSplitter::Ending::crlf, l->too_long});
      joined.clear();
    }
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
  CHECK(split("1234567\r\n", 8, {}) == std::vector<Got>{{"", true, true}});
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
    CHECK(out == std::vector<Got>{{"ok", true, false}, {"", true, true}, {"next", true, false}});
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

TEST_CASE("an overlong line keeps its real ending, so a dot line after it is seen (issue 10, defect 1)") {
  // The reproduction: a 1001-octet body line, then CRLF.CRLF, cut at every point.
  const std::string input = "Subject: long\r\n\r\n" + std::string(1001, 'B') + "\r\n.\r\n";
  const std::vector<Got> want = {{"Subject: long", true, false}, {"", true, false}, {"", true, true}, {".", true, false}};
  for (std::size_t i = 0; i <= input.size(); ++i) {
    CAPTURE(i);
    CHECK(split(input, 1000, {i}) == want);
  }
  // Bare LF endings stay bare, also when the CR-less LF arrives alone.
  CHECK(split(std::string(20, 'x') + "\n.\r\n", 8, {}) == std::vector<Got>{{"", false, true}, {".", true, false}});
  CHECK(split(std::string(20, 'x') + "\r\n", 8, {20}) == std::vector<Got>{{"", true, true}});
  CHECK(split(std::string(20, 'x') + "\r\n", 8, {21}) == std::vector<Got>{{"", true, true}});
  CHECK(split(std::string(19, 'x') + "\rx\n", 8, {20}) == std::vector<Got>{{"", false, true}});
}

TEST_CASE("split mode: a long line comes in bounded pieces that join to the line, at every cut") {
  const std::string long_line = std::string(50, 'a') + "\r" + std::string(30, 'b') + "\r";  // CRs inside and at the end
  const std::string input = "short\r\n" + long_line + "\r\n.\r\n" + std::string(40, 'c') + "\nend\r\n";
  const std::vector<Got> want = {{"short", true, false}, {long_line, true, false}, {".", true, false},
                                 {std::string(40, 'c'), false, false}, {"end", true, false}};
  for (std::size_t i = 0; i <= input.size(); ++i) {
    for (std::size_t j = i; j <= input.size(); j += 7) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(split(input, 16, {i, j}, LineSplitter::Overlong::split) == want);
    }
  }
  // Lines that fit are never cut, however the input arrives.
  for (std::size_t i = 0; i <= 10; ++i) {
    int pieces = 0;
    CHECK(split("0123456789\r\n", 16, {i}, LineSplitter::Overlong::split, &pieces) ==
          std::vector<Got>{{"0123456789", true, false}});
    CHECK(pieces == 0);
  }
}

TEST_CASE("split mode holds no more than the piece size of a 1 MB line") {
  LineSplitter s(16384, LineSplitter::Overlong::split);
  std::string chunk(4096, 'x');
  std::size_t total = 0;
  for (int i = 0; i < 256; ++i) {
    std::string_view in = chunk;
    while (!in.empty())
      if (auto l = s.next(in)) total += l->text.size();
    CHECK(s.pending() <= 16384 + chunk.size());
  }
  std::string_view end = "\r\n";
  auto last = s.next(end);
  REQUIRE(last);
  CHECK_FALSE(last->partial);
  CHECK(total + last->text.size() == 256 * 4096);
}
