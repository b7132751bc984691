#include "net/fault_file.hpp"

#include "util/log.hpp"

namespace mail::net {

Result<void> FaultFile::load() {
  if (file_.empty()) return {};
  auto rules = fault::Rules::load(file_, allowed_);
  if (!rules) return std::move(rules).error();
  injector_.replace(std::move(*rules));  // every counter and random sequence starts afresh
  log::info("", "faults_loaded", {{"file", file_.string()}, {"rules", injector_.size()}});
  return {};
}

void FaultFile::reload() {
  if (file_.empty()) {
    log::info("", "reload", {{"faults", "none"}});  // SIGHUP without a fault file: nothing to re-read
    return;
  }
  if (auto r = load(); !r)
    log::warn("", "faults_rejected", {{"file", file_.string()}, {"error", r.error().detail}});
}

void log_fault(std::string_view svc, const fault::Applied& applied) {
  std::vector<log::Field> fields;
  fields.reserve(applied.fields.size());
  for (const auto& [key, value] : applied.fields) fields.emplace_back(key, value);
  log::write(log::Level::info, svc, "fault", fields);
}

}  // namespace mail::net
