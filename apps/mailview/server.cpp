#include "server.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "mime/codec.hpp"
#include "static_files.hpp"
#include "util/text.hpp"

namespace mailview {

using nlohmann::json;
using namespace mail;

namespace {

// Lines of the feed may hold any bytes (the log quotes only control bytes): never throw on bad UTF-8.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& res, const json& j) {
  if (j.is_null()) {
    res.status = 404;
    res.set_content(R"({"error":"not found"})", "application/json");
    return;
  }
  res.set_header("Cache-Control", "no-store");
  res.set_content(dump(j), "application/json");
}

std::size_t limit_param(const httplib::Request& req, std::size_t fallback) {
  if (!req.has_param("limit")) return fallback;
  return util::parse_uint(req.get_param_value("limit"), 10000).value_or(fallback);
}

// Whether something accepts TCP connections on ip:port (within 300 ms): a server's "up".
bool tcp_up(const std::string& ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip == "0.0.0.0" ? "127.0.0.1" : ip.c_str(), &a.sin_addr) != 1) return false;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (!up && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    up = ::poll(&p, 1, 300) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
  ::close(fd);
  return up;
}

// One request to the world's control socket, as scripts/worldctl.py sends it: {"args": [verb, name]}
// and a newline; the answer is lines, the last `exit=N`.
json control(const std::string& path, const std::string& verb, const std::string& name) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return {{"exit", 2}, {"lines", {"control socket path too long"}}};
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  timeval tv{70, 0};  // a restart is a stop and a start (worldctl.py waits 2 x START_WAIT + 10)
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return {{"exit", 2}, {"lines", {"no world running (" + path + ")"}}};
  }
  std::string req = dump(json{{"args", {verb, name}}}) + "\n";
  (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[4096];
  ssize_t n;
  while (reply.size() < (1u << 20) && (n = ::recv(fd, buf, sizeof buf, 0)) > 0) reply.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  json lines = json::array();
  int exit = 1;
  std::size_t pos = 0;
  while (pos < reply.size()) {
    auto nl = std::min(reply.find('\n', pos), reply.size());
    std::string line = reply.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("exit=", 0) == 0) exit = static_cast<int>(util::parse_uint(line.substr(5), 255).value_or(1));
    else lines.push_back(line);
  }
  return {{"exit", exit}, {"lines", std::move(lines)}};
}

const StaticFile* static_file(std::string_view name) {
  for (const StaticFile* f = kStaticFiles; f->name != nullptr; ++f)
    if (name == f->name) return f;
  return nullptr;
}

// `attachment; filename="a.pdf"; filename*=UTF-8''%E4...` (RFC 6266): an ASCII fallback and the name.
std::string disposition(const std::string& name) {
  std::string safe = mime::safe_filename(name), ascii, pct;
  for (unsigned char c : safe) {
    ascii += (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '_' : static_cast<char>(c);
    static constexpr char kHex[] = "0123456789ABCDEF";
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') pct += static_cast<char>(c);
    else pct += std::string("%") + kHex[c >> 4] + kHex[c & 15];
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + pct;
}

// Whether the request names this machine: a hostile page whose DNS name is rebound to 127.0.0.1 makes
// the browser send that name in Host, so without this check it could read the world's mail.
bool own_host(const httplib::Request& req, const std::string& listen) {
  const std::string host = req.get_header_value("Host");
  const auto colon = host.rfind(':');
  const std::string name = colon == std::string::npos || host.back() == ']' ? host : host.substr(0, colon);
  return name == "127.0.0.1" || name == "localhost" || name == "[::1]" || name == listen;
}

// Whether a POST is the view's own page's: a browser sends Origin with a cross-site POST (one without a
// body needs no CORS preflight, so any page could send it). Clients other than browsers (curl, tests)
// send no Origin.
bool own_origin(const httplib::Request& req, const std::string& listen) {
  const std::string origin = req.get_header_value("Origin");
  return own_host(req, listen) && (origin.empty() || origin == "http://" + req.get_header_value("Host"));
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions opts;
  std::vector<ServerInfo> servers;
  Disk& disk;
  State& state;
  httplib::Server http;
  std::atomic<int> streams{0};
  std::atomic<bool> run_over{false};  // run() returned (or will never accept): stop() need not wait
  std::mutex up_mutex;
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, bool>> up_cache;

  Impl(ServerOptions o, std::vector<ServerInfo> s, Disk& d, State& st)
      : opts(std::move(o)), servers(std::move(s)), disk(d), state(st) {}

  bool up(const ServerInfo& s) {
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(up_mutex);
      auto it = up_cache.find(s.name);
      if (it != up_cache.end() && now - it->second.first < std::chrono::seconds(1)) return it->second.second;
    }
    bool u = !s.ports.empty() && tcp_up(s.address, s.ports.front().second);
    std::lock_guard lock(up_mutex);
    up_cache[s.name] = {now, u};
    return u;
  }

  json world() {
    json list = json::array();
    for (const auto& s : servers) {
      json ports = json::object();
      for (const auto& [k, p] : s.ports) ports[k] = p;
      list.push_back({{"name", s.name}, {"kind", s.kind}, {"domains", s.domains}, {"address", s.address},
                      {"ports", std::move(ports)}, {"tls", s.tls}, {"up", up(s)},
                      {"queue", s.kind == "mailsrv" ? disk.queue_size(s.name) : 0}});
    }
    std::lock_guard lock(state.mutex);
    return {{"servers", std::move(list)},
            {"events", {{"received", state.model.received()}, {"dropped", state.model.dropped()}}},
            {"control", !opts.control.empty()}};
  }

  template <class F>
  json locked(F f) {
    std::lock_guard lock(state.mutex);
    return f(state.model);
  }

  void stream(httplib::Response& res) {
    if (++streams > static_cast<int>(kMaxStreams)) {
      --streams;
      res.status = 503;
      res.set_content("too many streams; poll /api/version\n", "text/plain");
      return;
    }
    res.set_header("Cache-Control", "no-store");
    auto seen = std::make_shared<std::uint64_t>(~std::uint64_t{0});
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, seen](std::size_t, httplib::DataSink& sink) {
          std::string out;
          {
            std::unique_lock lock(state.mutex);
            if (*seen != ~std::uint64_t{0})
              state.changed.wait_for(lock, std::chrono::seconds(15), [&] { return state.stopping || state.seq != *seen; });
            if (state.stopping) return false;
            if (state.seq != *seen) {
              *seen = state.seq;
              out = "event: change\ndata: " + dump(json{{"seq", state.seq}, {"kind", state.kind}}) + "\n\n";
            } else {
              out = ": keep-alive\n\n";  // finds a closed client, and keeps proxies from timing out
            }
          }
          return sink.write(out.data(), out.size());
        },
        [this](bool) { --streams; });
  }

  void routes() {
    auto& h = http;
    h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (own_host(req, opts.listen)) return httplib::Server::HandlerResponse::Unhandled;
      res.status = 403;
      res.set_content(R"({"error":"Host is not this machine's: open the view at 127.0.0.1"})", "application/json");
      return httplib::Server::HandlerResponse::Handled;
    });
    h.Get("/api/world", [this](const httplib::Request&, httplib::Response& res) { send_json(res, world()); });
    h.Get("/api/version", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, locked([this](Model&) { return json{{"seq", state.seq}}; }));
    });
    h.Get("/api/mailboxes", [this](const httplib::Request&, httplib::Response& res) { send_json(res, disk.mailboxes()); });
    h.Get(R"(/api/mailboxes/([^/]+)/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      send_json(res, disk.mailbox(req.matches[1], req.matches[2]));
    });
    h.Get(R"(/api/messages/([^/]+)/([^/]+)/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      send_json(res, disk.message(req.matches[1], req.matches[2], req.matches[3]));
    });
    h.Get(R"(/api/messages/([^/]+)/([^/]+)/([^/]+)/raw)", [this](const httplib::Request& req, httplib::Response& res) {
      auto raw = disk.raw(req.matches[1], req.matches[2], req.matches[3]);
      if (!raw) return send_json(res, nullptr);
      res.set_content(std::move(*raw), "text/plain; charset=utf-8");
    });
    h.Get(R"(/api/messages/([^/]+)/([^/]+)/([^/]+)/part/([0-9.]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto part = disk.part(req.matches[1], req.matches[2], req.matches[3], req.matches[4]);
      if (!part) return send_json(res, nullptr);
      res.set_header("Content-Disposition", disposition(part->filename));
      res.set_content(std::move(part->data), part->type.empty() ? "application/octet-stream" : part->type);
    });
    h.Get("/api/queue", [this](const httplib::Request&, httplib::Response& res) { send_json(res, disk.queue()); });
    h.Get("/api/sessions", [this](const httplib::Request& req, httplib::Response& res) {
      std::string server = req.get_param_value("server"), proto = req.get_param_value("proto");
      auto limit = limit_param(req, 100);
      send_json(res, locked([&](Model& m) { return m.sessions(server, proto, limit); }));
    });
    h.Get(R"(/api/sessions/([^/]+)/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string server = req.matches[1], sid = req.matches[2];
      send_json(res, locked([&](Model& m) { return m.session(server, sid); }));
    });
    h.Get("/api/journeys", [this](const httplib::Request& req, httplib::Response& res) {
      auto limit = limit_param(req, 100);
      send_json(res, locked([&](Model& m) { return m.journeys(limit); }));
    });
    h.Get(R"(/api/journey/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string msgid = req.matches[1];
      send_json(res, locked([&](Model& m) { return m.journey(msgid); }));
    });
    h.Get("/api/stream", [this](const httplib::Request&, httplib::Response& res) { stream(res); });
    h.Post(R"(/api/control/([a-z]+)/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      static const std::vector<std::string> kVerbs = {"stop", "start", "restart", "pause", "resume"};
      std::string verb = req.matches[1], name = req.matches[2];
      if (opts.control.empty()) {
        res.status = 403;
        return res.set_content(R"({"error":"read-only: mailview runs without --control"})", "application/json");
      }
      if (!own_origin(req, opts.listen)) {
        res.status = 403;
        return res.set_content(R"({"error":"not from this view's own page: Origin or Host differ"})", "application/json");
      }
      bool known = std::any_of(servers.begin(), servers.end(), [&](const ServerInfo& s) { return s.name == name; });
      if (std::find(kVerbs.begin(), kVerbs.end(), verb) == kVerbs.end() || !known) return send_json(res, nullptr);
      json out = control(opts.control, verb, name);
      if (out["exit"] != 0) res.status = 409;
      send_json(res, out);
    });
    h.Get(R"(/(static/)?([^/]*))", [](const httplib::Request& req, httplib::Response& res) {
      std::string name = req.matches[2];
      const StaticFile* f = static_file(name.empty() ? "index.html" : name);
      if (!f) {
        res.status = 404;
        return res.set_content("not found\n", "text/plain");
      }
      res.set_content(reinterpret_cast<const char*>(f->data), f->size, f->type);
    });
  }
};

HttpServer::HttpServer(ServerOptions opts, std::vector<ServerInfo> servers, Disk& disk, State& state)
    : impl_(new Impl(std::move(opts), std::move(servers), disk, state)) {}

HttpServer::~HttpServer() { delete impl_; }

bool HttpServer::run(const std::function<void(const std::string& addr)>& on_listening) {
  auto& h = impl_->http;
  h.new_task_queue = [] { return new httplib::ThreadPool(kMaxStreams + 8); };  // streams hold a thread each
  h.set_payload_max_length(64 * 1024);  // POSTs carry nothing; nothing else is read from clients
  h.set_read_timeout(10, 0);
  h.set_write_timeout(10, 0);
  h.set_keep_alive_max_count(100);
  impl_->routes();
  int port = impl_->opts.port;
  if (port == 0) port = h.bind_to_any_port(impl_->opts.listen);
  else if (!h.bind_to_port(impl_->opts.listen, port)) port = -1;
  if (port <= 0) {
    impl_->run_over = true;
    return false;
  }
  on_listening(impl_->opts.listen + ":" + std::to_string(port));
  bool ok = h.listen_after_bind();
  impl_->run_over = true;
  return ok;
}

void HttpServer::stop() {
  {
    std::lock_guard lock(impl_->state.mutex);
    impl_->state.stopping = true;
    impl_->state.changed.notify_all();
  }
  // httplib's stop() does nothing before listen_after_bind() has started: a stop asked just after
  // event=listening (a supervisor giving up on a world) was lost. Wait for the accept loop, or the end.
  while (!impl_->run_over && !impl_->http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http.stop();
}

}  // namespace mailview
