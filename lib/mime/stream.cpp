#include "mime/stream.hpp"

#include "util/auth.hpp"
#include "util/text.hpp"

namespace mail::mime {

namespace {
constexpr std::size_t kLineOctets = 57;       // 76 base64 columns
constexpr std::size_t kMaxLine = 1000;        // held of a line; a boundary (RFC 2046: 70 at most) fits with its "--"s
constexpr std::size_t kMaxHeader = 64 * 1024; // a longer part header is kept but not looked into
constexpr std::size_t kMaxLevels = 50;        // as parse()'s depth cap
constexpr std::size_t kMaxParts = 1000;       // as parse()'s: the entities past it are not read, so not diverted
}  // namespace

void Base64Encoder::feed(std::string_view bytes, std::string& out) {
  auto line = [&out](std::string_view octets) {
    out += util::base64_encode(octets);
    out += "\r\n";
  };
  if (!pending_.empty()) {
    std::size_t take = std::min(kLineOctets - pending_.size(), bytes.size());
    pending_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (pending_.size() < kLineOctets) return;
    line(pending_);
    pending_.clear();
  }
  for (; bytes.size() >= kLineOctets; bytes.remove_prefix(kLineOctets)) line(bytes.substr(0, kLineOctets));
  pending_.assign(bytes);
}

void Base64Encoder::finish(std::string& out) {
  if (pending_.empty()) return;
  out += util::base64_encode(pending_) + "\r\n";
  pending_.clear();
}

std::size_t base64_lines_size(std::size_t n) noexcept {
  std::size_t chars = (n + 2) / 3 * 4;
  return chars + (chars + 75) / 76 * 2;
}

// One quad on its own, as base64_decode_lenient's fallback does: '=' only in the last two places, and
// only at the very end (a quad after a padded one makes the whole text wrong, not the bytes).
void Base64Decoder::quad(std::string& out) {
  n_ = 0;
  if (padded_) good_ = false;
  int v[4];
  int pad = 0;
  for (int k = 0; k < 4; ++k) {
    if (q_[k] == '=' && k >= 2) {
      v[k] = 0;
      ++pad;
      continue;
    }
    v[k] = pad > 0 ? -1 : util::base64_value(q_[k]);
    if (v[k] < 0) {
      good_ = false;
      return;
    }
  }
  padded_ = pad > 0;
  unsigned triple = static_cast<unsigned>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
  out += static_cast<char>(triple >> 16 & 0xFF);
  if (pad < 2) out += static_cast<char>(triple >> 8 & 0xFF);
  if (pad < 1) out += static_cast<char>(triple & 0xFF);
}

void Base64Decoder::feed(std::string_view text, std::string& out) {
  for (char c : text) {
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    if (c != '=' && util::base64_value(c) < 0) {
      good_ = false;
      continue;
    }
    q_[n_++] = c;
    if (n_ == 4) quad(out);
  }
}

bool Base64Decoder::finish(std::string& out) {
  if (n_ == 1) {  // a cut-off tail: what can be read of it
    n_ = 0;
    good_ = false;
  } else if (n_ > 1) {
    while (n_ < 4) q_[n_++] = '=';
    quad(out);
    good_ = false;
  }
  bool ok = good_;
  *this = Base64Decoder();
  return ok;
}

// --- the splitter

void StreamSplitter::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    auto nl = chunk.find('\n');
    std::string_view piece = chunk.substr(0, nl == std::string_view::npos ? chunk.size() : nl + 1);
    chunk.remove_prefix(piece.size());
    bool complete = piece.back() == '\n';
    if (boundary_tail_) {  // the rest of a long boundary line: kept, never looked into
      sink_.kept(piece);
      if (complete) boundary_tail_ = long_line_ = false;
      continue;
    }
    if (line_.empty() && complete && !long_line_) {  // the common case: a whole line, no copy
      line(piece, true);
      continue;
    }
    line_.append(piece);
    if (complete) {
      line(line_, true);
      line_.clear();
      long_line_ = false;
    } else if (line_.size() > kMaxLine) {  // too long to hold: pass on what there is
      // A boundary is told by its start (boundary()), so a long one (transport padding) is one here
      // too, as it is when the whole line comes in one chunk and as parse() sees it.
      if (!long_line_ && !in_header_ && boundary(line_)) boundary_tail_ = true;
      else line(line_, false);
      line_.clear();
      long_line_ = true;
    }
  }
}

void StreamSplitter::finish() {
  if (!line_.empty()) line(line_, !long_line_);  // the last line, without its line end
  line_.clear();
  boundary_tail_ = long_line_ = false;
  if (diverting_) end_diverted();
}

void StreamSplitter::line(std::string_view text, bool complete) {
  if (in_header_) return header_line(text, complete);
  if (complete && !long_line_ && boundary(text)) return;
  body_line(text);
}

void StreamSplitter::header_line(std::string_view text, bool complete) {
  sink_.kept(text);
  bool blank = complete && !long_line_ && (text == "\n" || text == "\r\n");
  if (blank) return header_done(text);
  if (header_.size() + text.size() > kMaxHeader) header_full_ = true;
  else header_.append(text);
}

void StreamSplitter::header_done(std::string_view blank) {
  in_header_ = false;
  ++entities_;
  std::vector<std::string> problems;
  Fields fields = header_full_ ? Fields{} : read_fields(header_, problems);
  auto get = [&fields](std::string_view name) {
    for (const auto& [n, v] : fields)
      if (util::iequals(n, name)) return v;
    return std::string();
  };
  PartHeader h = part_header(get("Content-Type"), get("Content-Disposition"));
  header_.clear();
  std::string cte = util::to_lower(util::trim(get("Content-Transfer-Encoding")));
  bool known = !header_full_;
  header_full_ = false;
  if (!known) return;
  const std::string& type = h.type.value;
  if (type.rfind("multipart/", 0) == 0) {
    auto b = h.type.params.find("boundary");
    // A boundary too long to be told from the held start of a line is not followed: its parts stay in
    // the skeleton (parse() reads them there), rather than depend on where the chunks are cut.
    if (b != h.type.params.end() && !b->second.empty() && b->second.size() + 4 <= kMaxLine && open_.size() < kMaxLevels)
      open_.push_back({part_, b->second, 0, type == "multipart/report"});
    return;
  }
  // What parse() reads as a delivery report's status (anywhere) and returned headers (in a report)
  // before it asks whether a part is an attachment stays in the skeleton, where it reads them.
  bool in_report = !open_.empty() && open_.back().report && part_.size() > open_.back().part.size();
  if (type == "message/delivery-status" || type == "message/global-delivery-status" ||
      (in_report && (type == "text/rfc822-headers" || type == "message/rfc822" || type == "message/global" ||
                     type == "message/global-headers")))
    return;
  if (cte != "base64" || !is_attachment(h) || entities_ > kMaxParts) return;
  diverting_ = true;
  diverted_.push_back({part_, 0, true});
  sink_.attachment(diverted_.back());
  sink_.kept(blank);  // an empty body (the line end before the next boundary belongs to the boundary), in the
                      // message's own line ends: mimetic throws on an LF message with a CRLF here
}

void StreamSplitter::body_line(std::string_view text) {
  if (!diverting_) return sink_.kept(text);
  decoded_.clear();
  decoder_.feed(text, decoded_);
  diverted_.back().size += decoded_.size();
  if (!decoded_.empty()) sink_.attachment_data(decoded_);
}

void StreamSplitter::end_diverted() {
  decoded_.clear();
  diverted_.back().ok = decoder_.finish(decoded_);
  diverted_.back().size += decoded_.size();
  if (!decoded_.empty()) sink_.attachment_data(decoded_);
  diverting_ = false;
}

// A line that starts with "--b" of an open multipart (the innermost first), closing it when "--" follows:
// mimetic's rule (a prefix, not RFC 2046's exact line), so that both number the parts alike.
bool StreamSplitter::boundary(std::string_view text) {
  if (open_.empty() || text.size() < 3 || text[0] != '-' || text[1] != '-') return false;
  std::string_view t = text.substr(2);
  for (std::size_t i = open_.size(); i-- > 0;) {
    const std::string& b = open_[i].boundary;
    if (t.substr(0, b.size()) != b) continue;
    bool close = t.substr(b.size(), 2) == "--";
    if (diverting_) end_diverted();
    open_.resize(i + 1);
    sink_.kept(text);
    if (close) {  // the epilogue of this multipart follows, kept as it is
      part_ = open_[i].part;
      open_.pop_back();
      in_header_ = false;
      return true;
    }
    part_ = open_[i].part + "." + std::to_string(++open_[i].children);
    in_header_ = true;
    return true;
  }
  return false;
}

Parsed parse_split(std::string_view skeleton, const std::vector<Diverted>& diverted) {
  Parsed p = parse(skeleton);
  for (std::size_t i = 0; i < diverted.size(); ++i) {
    const Diverted& d = diverted[i];
    Part* part = nullptr;
    for (auto& pt : p.parts)
      if (pt.part == d.part && pt.attachment >= 0) part = &pt;
    if (part == nullptr) {
      p.problems.push_back(d.part + ": an attachment of " + std::to_string(d.size) + " octets outside the message structure; not shown");
      continue;
    }
    part->size = d.size;
    p.attachments[static_cast<std::size_t>(part->attachment)].stored = static_cast<int>(i);
    if (!d.ok) p.problems.push_back(d.part + ": bad base64 (decoded what could be read)");
  }
  return p;
}

}  // namespace mail::mime
