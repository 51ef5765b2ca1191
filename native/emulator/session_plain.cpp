// Plain ws:// sessions.
#include "emulator/transport.hpp"

namespace vr::emu::detail {

// Io thread (the acceptor's handler).
void launch_plain(std::shared_ptr<server_state> st, asio::ip::tcp::socket socket) {
  auto ex = socket.get_executor();
  auto s = std::make_shared<session<asio::ip::tcp::socket>>(std::move(st), ex, std::move(socket));
  asio::dispatch(ex, [s] { s->run(); });
}

}  // namespace vr::emu::detail
