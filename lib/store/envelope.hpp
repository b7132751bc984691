// The relay queue's envelope sidecar, queue/<id>.json (docs/reference.md "State on disk"): who sent the message and the
// state of each recipient. Versioned JSON, rewritten atomically (tmp + rename) by the queue. Fields
// added later are optional ("bounced"), so older files load. Version 2 (issue 11) keeps each
// recipient's last reply as an object (smtp::Outcome); version 1 kept it as text, which is parsed once
// when such a file loads. A file is written in the oldest version that can hold it: an entry no
// attempt has touched yet is version 1, byte for byte as before, so an older mailsrv still reads it.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/outcome.hpp"
#include "util/result.hpp"

namespace mail::store {

enum class RcptState { pending, delivered, failed };

struct QueuedRecipient {
  std::string address;
  RcptState state = RcptState::pending;
  int attempts = 0;
  std::time_t next_try = 0;  // 0: as soon as possible
  smtp::Outcome last_reply;  // the remote server's reply or our reason, for logs and bounces
};

struct QueueEnvelope {
  static constexpr int kVersion = 2;  // the newest this code writes; it reads 1 and 2
  std::string id;
  std::string sender;  // "" for <>
  std::string helo;
  std::time_t received = 0;
  std::vector<QueuedRecipient> recipients;
  bool bounced = false;  // the bounce for the failed recipients is stored (not sent again after a restart)
  bool body_8bit = false;  // "body": "8bitmime": the content has octets above 127 (the relay says BODY=8BITMIME)
};

std::string to_json(const QueueEnvelope& e);
/// Errc::parse naming what is wrong; unknown versions are refused.
Result<QueueEnvelope> envelope_from_json(std::string_view text);

}  // namespace mail::store
