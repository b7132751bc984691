// mailview's HTTP side (docs/view.md): the JSON API, the live stream, the embedded page, and the
// world-control POSTs when --control names the world's control socket. The only file that includes
// cpp-httplib (Debian's is a compiled library; its header is heavy).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "disk.hpp"
#include "parties.hpp"
#include "state.hpp"

namespace mailview {

struct ServerOptions {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 8025;
  std::string control;  // the world's control socket; "" = POST refused (403)
};

/// Serves until stop() is called from another thread. `on_listening` runs once the socket is bound
/// (with the address it is bound to). Returns false when it could not listen.
class HttpServer {
 public:
  HttpServer(ServerOptions opts, std::vector<ServerInfo> servers, Disk& disk, State& state);
  ~HttpServer();
  bool run(const std::function<void(const std::string& addr)>& on_listening);
  void stop();

  static constexpr std::size_t kMaxStreams = 8;  // SSE clients at once (each holds a thread)

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace mailview
