// wss:// sessions; the TLS stream sits directly on the accepted socket.
#include "emulator/transport.hpp"

namespace vr::emu::detail {

// Io thread (the acceptor's handler).
void launch_tls(std::shared_ptr<server_state> st, asio::ip::tcp::socket socket, asio::ssl::context& ctx) {
  auto ex = socket.get_executor();
  auto s = std::make_shared<session<asio::ssl::stream<asio::ip::tcp::socket>>>(std::move(st), ex,
                                                                               std::move(socket), ctx);
  asio::dispatch(ex, [s] { s->run(); });
}

}  // namespace vr::emu::detail
