// Finding servers, POP3 sessions (and running one command of the table) and mail submission for the agent.
#include <algorithm>
#include <fstream>
#include <random>

#include "agent.hpp"
#include "mime/codec.hpp"
#include "mime/message.hpp"
#include "mime/stream.hpp"
#include "net/smtp_client.hpp"
#include "util/dot_stuffer.hpp"
#include "util/text.hpp"

namespace agent {

using namespace mail;

asio::awaitable<Result<Endpoint>> Agent::endpoint(const std::string& spec, std::uint16_t default_port) {
  auto hp = util::parse_host_port(spec, std::uint16_t{0});
  if (!hp) co_return fail(Errc::invalid, hp.error().detail);
  Endpoint ep{hp->host, {}, hp->port};
  if (ep.port == 0) {  // the P record tells the port
    auto p = co_await resolver->port(ep.host);
    if (!p) co_return fail(p.error().code, "cannot look up the port of " + ep.host + ": " + p.error().detail);
    ep.port = p->value_or(default_port);
  }
  if (util::is_ip_literal(ep.host)) {
    ep.ip = ep.host;
    co_return ep;
  }
  auto a = co_await resolver->addresses(ep.host);
  if (!a) {
    co_return fail(a.error().code, a.error().code == Errc::not_found ? "cannot find host " + ep.host + ": no such host (NXDOMAIN)"
                                                                    : "cannot look up " + ep.host + ": " + a.error().detail);
  }
  if (a->empty()) co_return fail(Errc::not_found, "host " + ep.host + " has no address");
  ep.ip = dns::to_string(a->front());
  co_return ep;
}

asio::awaitable<Result<net::Conn>> Agent::connect(const Endpoint& ep, std::size_t max_line) {
  auto c = co_await net::Conn::connect(ep.ip, ep.port, {max_line, io_timeout}, "agent");
  if (!c) co_return fail(c.error().code, ep.host + ": " + c.error().detail);
  if (tls == Tls::implicit) {
    auto r = co_await c->start_tls(*tls_context, net::TlsRole::client, ep.host);
    if (!r) co_return fail(r.error().code, ep.host + ": " + r.error().detail);
    if (auto v = check_peer(*c, ep); !v) co_return v.error();
  }
  co_return std::move(*c);
}

Result<void> Agent::check_peer(const net::Conn& conn, const Endpoint& ep) {
  if (conn.peer_verified()) return {};
  if (insecure) {
    complain("warning: the certificate of " + ep.host + " is not verified (--insecure)");
    return {};
  }
  return fail(Errc::refused, "the certificate of " + ep.host + " could not be verified against the CA (give --cafile FILE, or --insecure)");
}

std::string PopClient::protection() const {
  if (!conn_ || !conn_->tls_active()) return "not encrypted";
  return conn_->tls_description() + (conn_->peer_verified() ? " (certificate verified)" : " (certificate NOT verified)");
}

asio::awaitable<Result<pop3::Response>> PopClient::read(bool multiline, pop3::ResponseReader::LineFn on_line) {
  reader_.expect(multiline, std::move(on_line));
  while (true) {
    auto line = co_await conn_->read_line();
    if (line.status != net::ReadStatus::line) {
      conn_.reset();
      co_return fail(Errc::closed, std::string("the POP3 server closed the connection (") + net::to_string(line.status) + ")");
    }
    if (auto r = reader_.feed(line.text)) co_return std::move(*r);
  }
}

asio::awaitable<Result<void>> PopClient::open(std::vector<std::string>* transcript) {
  auto ep = co_await agent_.endpoint(agent_.pop_spec, 110);
  if (!ep) co_return ep.error();
  auto c = co_await agent_.connect(*ep, 65536);
  if (!c) co_return fail(c.error().code, "POP3 server " + c.error().detail);
  conn_.emplace(std::move(*c));
  auto greeting = co_await read(false);
  if (!greeting) co_return greeting.error();
  if (transcript) transcript->push_back(greeting->status);
  if (!greeting->ok) co_return fail(Errc::refused, greeting->status);
  if (agent_.tls == Agent::Tls::starttls) {  // STLS (RFC 2595) when the server lists it
    auto capa = co_await command("CAPA");
    if (!capa) co_return capa.error();
    bool stls = capa->ok && std::find(capa->lines.begin(), capa->lines.end(), "STLS") != capa->lines.end();
    if (stls) {
      auto r = co_await command("STLS");
      if (!r) co_return r.error();
      if (!r->ok) co_return fail(Errc::refused, "STLS refused: " + r->status);
      auto t = co_await conn_->start_tls(*agent_.tls_context, net::TlsRole::client, ep->host);
      if (!t) co_return fail(t.error().code, "POP3 server " + ep->host + ": " + t.error().detail);
      if (auto v = agent_.check_peer(*conn_, *ep); !v) co_return v.error();
    }
  }
  for (const std::string& cmd : {"USER " + agent_.email, "PASS " + agent_.password}) {
    auto r = co_await command(cmd);
    if (!r) co_return r.error();
    if (transcript) transcript->push_back(r->status);
    if (!r->ok) {
      conn_.reset();
      login_refused_ = true;
      co_return fail(Errc::refused, "login as " + agent_.email + " failed: " + r->status);
    }
  }
  co_return Result<void>();
}

asio::awaitable<Result<pop3::Response>> PopClient::command(const std::string& line, pop3::ResponseReader::LineFn on_line) {
  if (!conn_) co_return fail(Errc::closed, "not connected");
  if (agent_.verbose) complain("C: " + (line.rfind("PASS ", 0) == 0 ? std::string("PASS ***") : line));
  if (!co_await conn_->write(line + "\r\n")) co_return fail(Errc::closed, "the POP3 server closed the connection");
  auto r = co_await read(pop3::is_multiline(line), std::move(on_line));
  if (r && agent_.verbose) complain("S: " + r->status);
  co_return r;
}

asio::awaitable<int> run_pop_command(Agent& a, PopClient& pop, const std::vector<std::string>& args, bool interactive) {
  View v{std::cout, std::cerr, a.json, interactive};
  auto plan = plan_pop_command(args, v);
  if (plan.command == nullptr) co_return plan.status;
  if (plan.request.line.empty()) {  // a row that sends nothing (help) only prints
    plan.command->show(plan.request, {}, v);
    co_return 0;
  }
  pop3::ResponseReader::LineFn on_line;
  if (auto reader = plan.request.reader) on_line = [reader](std::string_view l) { reader->line(l); };
  auto r = co_await pop.command(plan.request.line, std::move(on_line));
  co_return show_pop_result(plan, r, v);
}

namespace {

constexpr std::size_t kChunk = 64 * 1024;

// The message's wire form, written to `conn` a chunk at a time as it is made: the text pieces as they
// are, each attachment's file base64-encoded as it is read, all through one dot-stuffer. What is left
// stays in `out`, which smtp_send writes.
asio::awaitable<bool> stream_message(net::Conn& conn, const std::vector<mime::Piece>& pieces, std::vector<std::ifstream>& files,
                                     std::string& out) {
  util::DotStuffer stuffer;
  std::string chunk(kChunk, '\0'), encoded;
  for (const auto& p : pieces) {
    if (p.attachment < 0) {
      stuffer.feed(p.text, out);
      continue;
    }
    auto& in = files[static_cast<std::size_t>(p.attachment)];
    mime::Base64Encoder encoder;
    while (true) {
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      auto n = static_cast<std::size_t>(in.gcount());
      encoded.clear();
      encoder.feed(std::string_view(chunk.data(), n), encoded);
      if (n < chunk.size()) encoder.finish(encoded);
      stuffer.feed(encoded, out);
      if (out.size() >= kChunk) {
        if (!co_await conn.write(out)) co_return false;
        out.clear();
      }
      if (n < chunk.size()) break;
    }
    if (in.bad()) co_return false;  // a read error half way: the message cannot be completed
  }
  stuffer.finish(out);
  co_return true;
}

std::string hex_random() {
  static std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

asio::awaitable<Result<void>> send_mail(Agent& a, const MailRequest& req) {
  mime::Outgoing m;
  m.from = a.email;
  m.to = req.to;
  m.cc = req.cc;
  m.subject = req.subject;
  m.text = req.text;
  m.html = req.html;
  m.date = std::time(nullptr);
  auto domain = a.email.substr(a.email.rfind('@') + 1);
  m.message_id = hex_random() + "." + std::to_string(m.date) + "@" + domain;
  m.boundary_seed = hex_random();
  std::vector<std::ifstream> files;  // opened now, so that a missing file fails before anything is sent
  std::vector<std::uint64_t> sizes;
  for (const auto& path : req.attach) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) co_return fail(Errc::not_found, "cannot read " + path);
    sizes.push_back(static_cast<std::uint64_t>(in.tellg()));
    in.seekg(0);
    files.push_back(std::move(in));
    auto name = path.substr(path.find_last_of('/') + 1);
    m.attachments.push_back({name, mime::content_type_for(name), {}});
  }
  std::vector<std::string> rcpts = req.to;
  rcpts.insert(rcpts.end(), req.cc.begin(), req.cc.end());
  rcpts.insert(rcpts.end(), req.bcc.begin(), req.bcc.end());  // the envelope only: never in a header
  if (rcpts.empty()) co_return fail(Errc::invalid, "no recipient");
  auto pieces = mime::build_pieces(m);
  std::uint64_t size = 0;  // what mime::build would give: announced as SIZE
  for (const auto& p : pieces) size += p.attachment < 0 ? p.text.size() : mime::base64_lines_size(sizes[static_cast<std::size_t>(p.attachment)]);

  auto ep = co_await a.endpoint(a.smtp_spec, 25);
  if (!ep) co_return ep.error();
  auto conn = co_await a.connect(*ep, 4096);
  if (!conn) co_return fail(conn.error().code, "SMTP server " + conn.error().detail);
  smtp::ClientSession cs(a.helo, "host " + ep->host);
  smtp::ReplyParser parser;
  if (!co_await net::smtp_hello(*conn, cs, parser))
    co_return fail(Errc::refused, "SMTP server " + ep->host + ": " + std::to_string(cs.failure().code) + " " + cs.failure().text());
  if (a.tls == Agent::Tls::starttls && cs.offers_starttls()) {
    auto t = co_await net::smtp_starttls(*conn, cs, parser, *a.tls_context, ep->host);
    if (!t) co_return fail(t.error().code, "SMTP server " + ep->host + ": " + t.error().detail);
    if (auto v = a.check_peer(*conn, *ep); !v) co_return v.error();
  }
  if (a.auth) {
    if (!cs.offers_auth())
      co_return fail(Errc::refused, "SMTP server " + ep->host + " offers no AUTH" + (conn->tls_active() ? "" : " without TLS"));
    auto r = co_await net::smtp_auth(*conn, cs, parser, a.email, a.password);
    if (!r) co_return fail(Errc::refused, "authentication as " + a.email + " failed: " + r.error().detail);
  }
  if (a.verbose) complain("SMTP session: " + (conn->tls_active() ? conn->tls_description() : std::string("not encrypted")) +
                          (a.auth ? ", authenticated" : ""));
  net::Conn& c = *conn;
  auto body = [&c, &pieces, &files](std::string& out) { return stream_message(c, pieces, files, out); };
  smtp::Outgoing envelope{a.email, rcpts, size};  // named: g++ 12 mishandles a braced temporary here
  bool ok = co_await net::smtp_send(*conn, cs, parser, std::move(envelope), body);
  if (!ok) co_return fail(Errc::closed, "SMTP server " + ep->host + " closed the connection");
  co_await conn->write(cs.quit());
  std::string refused;
  for (const auto& r : cs.results())
    if (!r.reply.positive()) refused += (refused.empty() ? "" : "; ") + r.address + ": " + std::to_string(r.reply.code) + " " + r.reply.text();
  if (!refused.empty()) co_return fail(Errc::permanent, refused);
  co_return Result<void>();
}

}  // namespace agent
