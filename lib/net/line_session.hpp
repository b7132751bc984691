// One line-protocol session over a Conn, the driver SMTP and POP3 share: the greeting, the read loop
// under the connection's deadlines (Conn: per command line, and DATA's minimum rate), replies written in
// one batch while pipelined commands wait (RFC 2920), STARTTLS/STLS, timeouts and shutdown answered by
// the core, the end of the session once the core is closed (QUIT, or its [limits] errors limit, however
// the last error came), and the -v log of each command as the core masked it and of each phase change.
// What one protocol alone does (SMTP DATA and AUTH, POP3 login, RETR and update) is its `perform`.
// A fault rule the core applied (issue 13) is logged here and its delay, drop or slow performed.
// No verbs here: the core decides every reply (docs/development.md "Protocol cores and drivers").
// With --events, each session is published here too (docs/reference.md "Event feed"): open, each
// command as the core masked it for the log (c), each reply line (s), tls, close.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>

#include "fault/fault.hpp"
#include "net/conn.hpp"
#include "net/event_feed.hpp"
#include "net/tls.hpp"

namespace mail::net {

/// What a core's step asks of the driver, besides writing its replies.
enum class StepKind {
  reply,      // nothing more
  start_tls,  // write the replies, run the TLS handshake as server, then core.on_tls_started()
  close,      // write the replies and end the session
  perform,    // the protocol's own effect: Protocol::perform(step) (which writes the replies)
};

struct LineSessionOptions {
  TlsContext* tls = nullptr;         // the server's context for StepKind::start_tls (null: never asked)
  std::chrono::seconds idle{0};      // the per-command deadline, as event=timeout names it
  bool verbose = false;              // -v: event=command (masked by the core) and event=phase
  std::size_t flush_at = 16 * 1024;  // output that waits behind pipelined commands is written past this
  const char* proto = "";            // the event feed's proto: smtp, submission, smtps, pop3, pop3s
};

/// The driver. `Protocol` derives from LineSession<Protocol, Core> and provides
///   static StepKind kind(const Step&);     what a step asks
///   void write(const Step&);               appends the step's replies to `out`
///   asio::awaitable<bool> perform(Step&);  a StepKind::perform step; false: the connection is unusable
/// `Core` is a protocol core: on_connect() and on_greeting() -> Step, on_line(text, too_long) -> Step with
/// log_line, each Step with an optional fault::Fault `fault`, on_timeout(), on_shutdown(),
/// on_tls_started(), phase() (Phase::closed when over), watch_phases(hook) and to_string(Phase).
template <class Protocol, class Core>
class LineSession {
 public:
  using Step = decltype(std::declval<Core&>().on_line(std::string_view{}, false));

  LineSession(Conn& c, Core k, LineSessionOptions o) : conn(c), core(std::move(k)), opts_(o) {}

  /// The whole session, greeting to end (TcpServer closes the connection afterwards).
  asio::awaitable<void> run() {
    feed::CloseOnExit closed_event;
    if (feed::on()) {
      closed_event.arm(conn.log().sid());
      feed::emit("open", {{"sid", conn.log().sid()}, {"proto", opts_.proto}, {"side", "server"},
                          {"local", conn.local()}, {"peer", conn.peer()}});
      if (conn.tls_active())
        feed::emit("tls", {{"sid", conn.log().sid()}, {"cipher", conn.tls_description()}, {"resumed", conn.tls_resumed() ? "yes" : "no"}});
    }
    if (opts_.verbose) {
      const log::Context& log = conn.log();
      core.watch_phases([&log](auto from, auto to) { log.debug("phase", {{"from", to_string(from)}, {"to", to_string(to)}}); });
    }
    // The connect rules, then the greeting (or what a rule puts in its place).
    const Step connected = core.on_connect();
    if (!co_await opening(connected)) co_return;
    const Step greeting = core.on_greeting();
    if (!co_await opening(greeting)) co_return;
    conn.log().debug("connect");
    while (co_await take_line()) {
    }
    conn.log().debug("disconnect");
  }

 protected:
  Conn& conn;
  Core core;
  std::string out;  // replies not yet written

  void add(const Step& step) {
    if (!feed::on()) return self().write(step);
    const std::size_t before = out.size();
    self().write(step);
    feed::emit_lines("s", conn.log().sid(), std::string_view(out).substr(before));
  }
  /// A line for the event feed (call only when feed::on()): c from the client, s from the server.
  void feed_line(const char* dir, std::string_view line) const {
    feed::emit(dir, {{"sid", conn.log().sid()}, {"line", line}});
  }

  asio::awaitable<bool> flush() {
    if (out.empty()) co_return true;
    bool ok = co_await conn.write(out);
    out.clear();
    co_return ok;
  }

  // A fault rule the core applied: always logged (a test asserts event=fault rule=NAME), then a delay
  // waits, a slow limits the connection's rate from now on, and a drop ends the session without a
  // word (false). A reply is already among the step's replies. The logging is a plain function: with
  // it in this coroutine (an early co_return, a reference local, a structured binding) g++ 12's code
  // crashed at the first connection.
  asio::awaitable<bool> perform_fault(const Step& step) {
    if (step.fault) {
      log_fault(*step.fault);
      // The replies to the commands before this one were decided already (a 250 for a stored message
      // may wait behind pipelined input): they go out first, so a drop or delay touches this one only.
      if (step.fault->kind == fault::Kind::drop || step.fault->kind == fault::Kind::delay) co_await flush();
      if (step.fault->kind == fault::Kind::delay) co_await conn.pause(step.fault->delay);
      if (step.fault->kind == fault::Kind::slow) conn.set_rate(step.fault->rate);
    }
    co_return !step.fault || step.fault->kind != fault::Kind::drop;
  }

 private:
  Protocol& self() { return static_cast<Protocol&>(*this); }
  bool closed() const { return core.phase() == decltype(core.phase())::closed; }

  void log_fault(const fault::Fault& f) const {
    std::vector<log::Field> fields;
    for (const auto& [key, value] : f.fields) fields.emplace_back(key, value);
    conn.log().write_fields(log::Level::info, "fault", fields);
  }

  // A step before the first command: false when the session ends there (a rule's reply or drop).
  asio::awaitable<bool> opening(const Step& step) {
    bool go_on = co_await perform_fault(step);
    if (go_on) {
      add(step);
      go_on = co_await flush() && !closed();
    }
    co_return go_on;
  }

  // One command line and what it asks; false when the session is over.
  asio::awaitable<bool> take_line() {
    auto line = co_await conn.read_line();
    if (line.status == ReadStatus::eof || line.status == ReadStatus::error) co_return false;
    if (line.status == ReadStatus::timeout || line.status == ReadStatus::shutdown) {
      const bool timeout = line.status == ReadStatus::timeout;
      if (timeout) conn.log().info("timeout", {{"in", "command"}, {"limit", opts_.idle.count()}});
      add(timeout ? core.on_timeout() : core.on_shutdown());
      co_await flush();
      co_return false;
    }
    Step step = core.on_line(line.text, line.status == ReadStatus::too_long);
    if (opts_.verbose && !step.log_line.empty()) conn.log().debug("command", {{"line", step.log_line}});
    if (feed::on() && !step.log_line.empty()) feed_line("c", step.log_line);
    if (step.fault && !co_await perform_fault(step)) co_return false;
    switch (Protocol::kind(step)) {
      case StepKind::reply:
        add(step);
        break;
      case StepKind::close:
        add(step);
        co_await flush();
        co_return false;
      case StepKind::start_tls:
        add(step);
        co_return co_await start_tls();
      case StepKind::perform:
        if (!co_await self().perform(step)) co_return false;
        break;
    }
    // The effect's outcome closed the core (a failed login that reached the error limit, POP3's
    // update): write its last replies and end.
    if (closed()) {
      co_await flush();
      co_return false;
    }
    if (!conn.has_buffered() || out.size() >= opts_.flush_at) co_return co_await flush();
    co_return true;
  }

  // RFC 3207 / RFC 2595: the replies go out in the clear, then the handshake; the core starts over.
  asio::awaitable<bool> start_tls() {
    if (opts_.tls == nullptr) co_return false;
    if (!co_await flush()) co_return false;
    auto r = co_await conn.start_tls(*opts_.tls, TlsRole::server);
    if (!r) {
      conn.log().info("tls_failed", {{"why", r.error().detail}});
      co_return false;
    }
    core.on_tls_started();
    const char* resumed = conn.tls_resumed() ? "yes" : "no";
    conn.log().debug("tls", {{"cipher", conn.tls_description()}, {"resumed", resumed}});
    if (feed::on()) feed::emit("tls", {{"sid", conn.log().sid()}, {"cipher", conn.tls_description()}, {"resumed", resumed}});
    co_return true;
  }

  LineSessionOptions opts_;
};

}  // namespace mail::net
