// Wiring of the SMTP sessions' message sink: queue ids and Maildir names from Services, committed
// queue entries to the relay, and the -v attachment log.
#include <filesystem>
#include <fstream>

#include "mime/message.hpp"
#include "relay.hpp"
#include "services.hpp"

namespace mailsrv {

using namespace mail;

namespace {

// -v: the attachment names of a stored message (the course's servers print them), read with the
// agent's MIME parser from at most the first MiB. Without -v nothing is parsed.
void log_attachments(const store::Stored& stored, const log::Context& log) {
  const auto& file = !stored.mailbox_files.empty() ? stored.mailbox_files.front() : stored.queue_file;
  std::ifstream in(file, std::ios::binary);
  std::string head(1 << 20, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  auto parsed = mime::parse(head);
  std::string names;
  for (const auto& a : parsed.attachments) names += (names.empty() ? "" : ",") + a.filename;
  log.debug("attachments", {{"id", stored.id}, {"count", parsed.attachments.size()}, {"names", names}});
}

}  // namespace

std::unique_ptr<net::MessageSink> make_sink(Services& svc) {
  net::StoreSink::Options o;
  o.server_name = svc.settings.name;
  o.next_id = [&svc] { return svc.next_id(); };
  o.next_unique = [&svc] { return svc.next_unique(); };
  o.queued = [&svc](store::QueueEnvelope env) {
    if (svc.relay != nullptr) svc.relay->add(std::move(env));
  };
  if (svc.verbose) o.stored = log_attachments;
  return std::make_unique<net::StoreSink>(*svc.store, std::move(o));
}

}  // namespace mailsrv
