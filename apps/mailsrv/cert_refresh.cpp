#include "cert_refresh.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "services.hpp"
#include "store/queue.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace mailsrv {

using namespace mail;

namespace {
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);
}

asio::awaitable<void> add_mx_names(net::Resolver& resolver, std::vector<std::string> domains, CertNames& out) {
  for (const auto& d : domains) {
    auto mx = co_await resolver.mx(d);
    if (mx) {
      for (const auto& m : *mx) out.names.insert(util::to_lower(m.exchange.to_text()));
    } else if (mx.error().code != Errc::not_found) {
      out.missing.push_back(d);
    }
  }
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

CertRefresh::CertRefresh(Services& svc, net::pki::Pem ca, CertNames names)
    : svc_(svc), ca_(std::move(ca)), names_(std::move(names)), timer_(*svc.io) {}

void CertRefresh::start() { asio::co_spawn(*svc_.io, loop(), asio::detached); }

void CertRefresh::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> CertRefresh::loop() {
  config::Queue schedule;  // the relay queue's schedule function, with its own times
  schedule.retry_first = std::chrono::seconds(1);
  schedule.retry_max = std::chrono::seconds(60);
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    timer_.expires_after(store::retry_delay(attempt, schedule));
    auto [ec] = co_await timer_.async_wait(kTuple);
    if (ec || stopped_) co_return;
    auto domains = std::move(names_.missing);
    names_.missing.clear();
    const auto known = names_.names.size();
    co_await add_mx_names(*svc_.resolver, std::move(domains), names_);
    if (stopped_) co_return;
    // The names of the domains that answered go in now; those that still fail are asked again.
    if (names_.names.size() > known) reissue();
    if (names_.missing.empty()) co_return;
  }
  log::warn("tls", "cert_names_incomplete", {{"missing", join_names(names_.missing)}, {"retry", "no"}});
}

void CertRefresh::reissue() {
  std::vector<std::string> names(names_.names.begin(), names_.names.end());
  // Once, and small: the two files are written here rather than through the committer.
  auto issued = net::pki::ensure_server_cert(ca_, svc_.layout->data() / "tls", names);
  if (!issued) {
    log::error("tls", "cert_reissue_failed", {{"why", issued.error().detail}});
    return;
  }
  if (auto r = svc_.tls_server->set_identity(*issued); !r) {
    log::error("tls", "cert_reissue_failed", {{"why", r.error().detail}});
    return;
  }
  log::info("tls", "cert_reissued",
            {{"names", join_names(names)}, {"cert_sha256", net::pki::sha256_fingerprint(issued->cert)}});
}

}  // namespace mailsrv
