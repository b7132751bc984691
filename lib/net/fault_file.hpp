// A server's fault rule file (docs/reference.md "Fault rules"): read at start, re-read on SIGHUP, each
// outcome logged the way tests and `scripts/world ctl` expect (event=faults_loaded, faults_rejected).
// Shared by fdns and mailsrv; the decisions themselves are fault::Injector's.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "fault/fault.hpp"
#include "util/result.hpp"

namespace mail::net {

class FaultFile {
 public:
  /// `file` empty: no rules, and reload() has nothing to read.
  FaultFile(std::filesystem::path file, std::vector<fault::Protocol> allowed)
      : file_(std::move(file)), allowed_(std::move(allowed)) {}

  /// Reads the file into the injector and logs `event=faults_loaded file=F rules=N`; on failure the
  /// old rules stay and the error is one line `FILE:LINE: key: reason` (at start: print it, exit 2).
  Result<void> load();
  /// SIGHUP: load(), logging `event=faults_rejected file=F error="..."` when it fails.
  void reload();

  const std::filesystem::path& file() const noexcept { return file_; }
  /// The rules and their counters, for the sessions (one thread: no locking).
  fault::Injector& injector() noexcept { return injector_; }

 private:
  std::filesystem::path file_;
  std::vector<fault::Protocol> allowed_;
  fault::Injector injector_;
};

/// `event=fault rule=NAME when="..." do="..." client=...`: the line of every applied rule, at info.
void log_fault(std::string_view svc, const fault::Applied& applied);

}  // namespace mail::net
