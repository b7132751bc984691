// The fault rules of one mailsrv (issue 13; docs/reference.md "Fault rules"): read from --faults or
// [mailsrv."NAME"] faults at start, and again on SIGHUP.
#pragma once

#include <filesystem>

#include "fault/fault.hpp"
#include "util/result.hpp"

namespace mailsrv {

/// Reads a fault rule file for mailsrv: smtp and pop3 rules only (a dns rule is an error). The error is
/// one line, `FILE:LINE: key: reason`.
mail::Result<mail::fault::Rules> load_faults(const std::filesystem::path& file);

/// SIGHUP: reads `file` again. Success: the injector takes the new rules (every counter starts afresh)
/// and event=faults_loaded is logged; failure: one event=faults_rejected line, the old rules stay.
/// Without a file (`file` empty) there is nothing to reload: event=faults_reload_skipped.
void reload_faults(mail::fault::Injector& injector, const std::filesystem::path& file);

}  // namespace mailsrv
