#include "faults.hpp"

#include <array>

#include "util/log.hpp"

namespace mailsrv {

using namespace mail;

Result<fault::Rules> load_faults(const std::filesystem::path& file) {
  static constexpr std::array kMailProtocols{fault::Protocol::smtp, fault::Protocol::pop3};
  return fault::Rules::load(file, kMailProtocols);
}

void reload_faults(fault::Injector& injector, const std::filesystem::path& file) {
  if (file.empty()) {
    log::info("", "faults_reload_skipped", {{"why", "no fault file (--faults or [mailsrv.NAME] faults)"}});
    return;
  }
  auto rules = load_faults(file);
  if (!rules) {
    log::warn("", "faults_rejected", {{"file", file.string()}, {"error", rules.error().detail}});
    return;
  }
  injector.replace(std::move(*rules));
  log::info("", "faults_loaded", {{"file", file.string()}, {"rules", injector.size()}});
}

}  // namespace mailsrv
