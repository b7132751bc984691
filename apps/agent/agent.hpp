// The agent's shared pieces: finding the servers of the user's domain, talking SMTP and POP3, and
// printing what it got (plain text, or JSON with --json).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "commands.hpp"
#include "net/conn.hpp"
#include "net/tls.hpp"
#include "net/resolver.hpp"
#include "pop3/client.hpp"
#include "util/result.hpp"

namespace agent {

struct Endpoint {
  std::string host;
  std::string ip;
  std::uint16_t port = 0;
};

struct Agent {
  std::string email;
  std::string password;
  std::string smtp_spec;  // HOST or HOST:PORT
  std::string pop_spec;
  std::unique_ptr<mail::net::Resolver> resolver;
  bool json = false;
  bool verbose = false;
  std::string helo = "localhost";
  enum class Tls { starttls, implicit, off } tls = Tls::starttls;
  bool auth = false;      // SMTP AUTH with -e/-p
  bool insecure = false;  // do not insist on a verified certificate
  std::shared_ptr<mail::net::TlsContext> tls_context;
  std::chrono::milliseconds io_timeout{60000};  // connect, and each line read or write, must finish within this

  /// A connection to `ep`, with TLS from the start for --tls implicit.
  asio::awaitable<mail::Result<mail::net::Conn>> connect(const Endpoint& ep, std::size_t max_line);
  /// After a handshake: an error unless the certificate verified (or --insecure, which warns).
  mail::Result<void> check_peer(const mail::net::Conn& conn, const Endpoint& ep);

  /// HOST[:PORT] -> address and port, through the P and A records (a given port is taken as it is).
  asio::awaitable<mail::Result<Endpoint>> endpoint(const std::string& spec, std::uint16_t default_port);
};

/// A POP3 session: connect, login, one command at a time.
class PopClient {
 public:
  explicit PopClient(Agent& a) : agent_(a) {}
  /// Connects and logs in. `transcript` gets the greeting and the login replies (the course's view).
  asio::awaitable<mail::Result<void>> open(std::vector<std::string>* transcript = nullptr);
  /// Sends `line` and reads its response (multi-line when the command has one); with `on_line`, the
  /// body lines go there as they arrive instead of into the response.
  asio::awaitable<mail::Result<mail::pop3::Response>> command(const std::string& line,
                                                              mail::pop3::ResponseReader::LineFn on_line = {});
  bool connected() const noexcept { return conn_.has_value(); }
  /// open() failed because the server refused USER or PASS (not worth trying again).
  bool login_refused() const noexcept { return login_refused_; }
  /// "TLSv1.3 ... (verified)" or "not encrypted".
  std::string protection() const;

 private:
  asio::awaitable<mail::Result<mail::pop3::Response>> read(bool multiline, mail::pop3::ResponseReader::LineFn on_line = {});
  Agent& agent_;
  std::optional<mail::net::Conn> conn_;
  mail::pop3::ResponseReader reader_;
  bool login_refused_ = false;
};

struct MailRequest {
  std::vector<std::string> to, cc, bcc;
  std::string subject;
  std::string text;
  std::string html;
  std::vector<std::string> attach;  // file paths
};

/// Builds the MIME message and submits it, each attachment read and encoded a chunk at a time as it is
/// sent (never the whole message in memory). The error text holds the server's replies.
asio::awaitable<mail::Result<void>> send_mail(Agent& a, const MailRequest& req);

/// One command of the table (commands.hpp), from the command line or the [pop]>>> prompt: checks its
/// words, sends its line, prints the answer. Returns the exit status.
asio::awaitable<int> run_pop_command(Agent& a, PopClient& pop, const std::vector<std::string>& args, bool interactive);

/// `wait` and `expect-bounce` (watch.hpp): one POP3 session per look until found or timed out. Returns
/// the exit status: 0 found, 1 timed out or login refused, 2 bad arguments.
asio::awaitable<int> run_watch(Agent& a, const std::vector<std::string>& args);

/// The course's prompt loop.
asio::awaitable<int> interactive(Agent& a);

}  // namespace agent
