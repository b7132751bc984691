// The relay queue on disk (docs/reference.md "State on disk"): queue/<id>.eml (the message, with Received, without
// Return-Path) beside queue/<id>.json (the envelope and each recipient's state). Every change of an
// envelope is a new file renamed over the old one and fsynced (through the Committer); the schedule
// of retries is a pure function of the attempts.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "store/committer.hpp"
#include "store/envelope.hpp"
#include "store/layout.hpp"
#include "store/staged_file.hpp"

namespace mail::store {

/// The wait after the n-th failed attempt (n >= 1): retry_first, doubling, at most retry_max.
std::chrono::seconds retry_delay(int attempts, const config::Queue& q);

struct QueueScan {
  std::vector<QueueEnvelope> envelopes;  // oldest first
  std::vector<std::string> problems;     // what recovery did, for the log
};

/// Reads every envelope. Recovery of a crash: an .eml without its .json was never acknowledged and is
/// removed; a .json without its .eml is removed; an unreadable .json is moved to queue/corrupt/.
QueueScan scan_queue(const Layout& layout);

/// Writes the envelope to a staged file and returns the job (owning that file) that puts it in place
/// over queue/<id>.json. net::Store::save awaits it.
Result<Commit> stage_envelope(const Layout& layout, const QueueEnvelope& env);
/// The job that removes a finished queue entry (the envelope first). net::Store::remove awaits it.
Commit remove_entry(const Layout& layout, const std::string& id);

/// The same two with the staged file kept open in `holder` until the job ran, and the steps as a
/// CommitJob: only for the unit tests that run the steps themselves (Committer::run_batch).
Result<CommitJob> stage_envelope(const Layout& layout, const QueueEnvelope& env, std::optional<StagedFile>& holder);
CommitJob remove_entry_job(const Layout& layout, const std::string& id);

/// The header section of a stored message (up to the first empty line, at most `max` octets).
Result<std::string> read_headers(const std::filesystem::path& file, std::size_t max = 65536);
/// How many Received fields the header section has (loop protection).
int count_received(std::string_view headers);

}  // namespace mail::store
