#include "store/layout.hpp"

#include <cstdio>
#include <system_error>

#include "util/address.hpp"
#include "util/text.hpp"

namespace mail::store {

namespace fs = std::filesystem;

std::string address_dirname(std::string_view address) {
  std::string a = util::canonical_address(address);  // one folder per mailbox, however it is written
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) {
    auto c = static_cast<unsigned char>(a[i]);
    if (c == '/' || c == '%' || c < 0x20 || c == 0x7f || (i == 0 && c == '.')) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.empty()) out = "%00";
  return out;
}

fs::path Layout::maildir(std::string_view address) const { return data_ / "mail" / address_dirname(address); }

namespace {

Result<void> make_dir(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return fail(Errc::io, "cannot create " + p.string() + ": " + ec.message());
  return {};
}

Result<void> clean_tmp(const fs::path& tmp) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tmp, ec)) {
    std::error_code rm;
    if (e.is_regular_file(rm)) fs::remove(e.path(), rm);
  }
  if (ec) return fail(Errc::io, "cannot list " + tmp.string() + ": " + ec.message());
  return {};
}

}  // namespace

Result<void> Layout::prepare(const std::vector<std::string>& accounts) const {
  for (const auto& a : accounts) {
    auto md = maildir(a);
    for (const char* sub : {"tmp", "new", "cur"})
      if (auto r = make_dir(md / sub); !r) return r;
    if (auto r = clean_tmp(md / "tmp"); !r) return r;
  }
  if (auto r = make_dir(queue_tmp()); !r) return r;
  return clean_tmp(queue_tmp());
}

namespace maildir {

std::string unique_name(std::time_t secs, long usecs, long pid, std::uint64_t counter, std::string_view host) {
  std::string h;
  for (char c : host) {
    if (c == '/') h += "\\057";
    else if (c == ':') h += "\\072";
    else h += c;
  }
  return std::to_string(secs) + ".M" + std::to_string(usecs) + "P" + std::to_string(pid) + "Q" +
         std::to_string(counter) + "." + h;
}

std::string final_name(std::string_view unique, std::uint64_t size, std::uint64_t wsize) {
  return std::string(unique) + ",S=" + std::to_string(size) + ",W=" + std::to_string(wsize);
}

std::optional<Sizes> parse_sizes(std::string_view name) {
  if (auto colon = name.find(':'); colon != std::string_view::npos) name = name.substr(0, colon);
  Sizes s;
  bool have_s = false, have_w = false;
  size_t pos = 0;
  while ((pos = name.find(',', pos)) != std::string_view::npos) {
    auto field = name.substr(pos + 1);
    auto end = field.find(',');
    auto item = field.substr(0, end);
    if (item.size() > 2 && item[1] == '=') {
      auto v = util::parse_uint(item.substr(2), UINT64_MAX);
      if (v && item[0] == 'S') { s.size = *v; have_s = true; }
      if (v && item[0] == 'W') { s.wsize = *v; have_w = true; }
    }
    pos += 1;
  }
  if (!have_s || !have_w) return std::nullopt;
  return s;
}

}  // namespace maildir
}  // namespace mail::store
