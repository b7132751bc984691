// Runs one coroutine test on its own io_context, with a deadline, rethrowing what it threw.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <exception>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

namespace nettest {

template <class Awaitable>
void run(asio::io_context& io, Awaitable a, std::chrono::seconds limit = std::chrono::seconds(10)) {
  io.restart();
  bool done = false;
  std::exception_ptr err;
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e) {
    err = e;
    done = true;
    io.stop();
  });
  io.run_for(limit);
  if (err) std::rethrow_exception(err);
  REQUIRE_MESSAGE(done, "the test coroutine did not finish in time");
}

}  // namespace nettest
