#include "util/result.hpp"

namespace mail {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::io: return "io";
    case Errc::parse: return "parse";
    case Errc::not_found: return "not_found";
    case Errc::timeout: return "timeout";
    case Errc::temporary: return "temporary";
    case Errc::permanent: return "permanent";
    case Errc::refused: return "refused";
    case Errc::limit: return "limit";
    case Errc::invalid: return "invalid";
    case Errc::closed: return "closed";
  }
  return "unknown";
}

}  // namespace mail
