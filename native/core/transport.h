// The WebSocket transport behind vr::client: one object per connection attempt, over plain TCP
// (transport_plain.cpp) or TLS (transport_tls.cpp). Beast does the TCP connect, TLS and the HTTP
// upgrade; the frames are read and written by the transport itself (ws_frame.h), in place and
// many per wake-up. The connection state machine (client_impl.h) sees this small interface.
// Private to native/core.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

namespace boost::asio::ssl {
class context;
}

namespace vr {
struct tls_config;
}

namespace vr::detail {

using error_code = boost::system::error_code;
// The io_context runs on exactly one thread (io_runtime), so its executor already serialises
// every handler the way a strand would. A concrete executor type (neither a strand nor the
// type-erased any_io_executor) keeps the per-operation cost of asynchronous operations low.
using strand_type = boost::asio::io_context::executor_type;

enum class connect_stage { tcp, tls, upgrade };

// Receives the completions of one transport. Every call runs on the io thread. `generation`
// identifies the attempt, so completions of an abandoned attempt can be told apart from the
// current one.
class transport_listener {
 public:
  virtual void on_transport_connected(std::uint64_t generation, error_code ec, connect_stage stage) = 0;
  // One complete message. `data` has ws::message_reader::kPadding readable bytes past `size`
  // and stays valid until this call returns. Returning false stops delivery until read().
  virtual bool on_transport_message(std::uint64_t generation, const char* data, std::size_t size, bool text) = 0;
  // Reading ended: the connection was lost, the peer broke the protocol, or it closed
  // (beast::websocket::error::closed, after our answer to its close frame went out).
  virtual void on_transport_failed(std::uint64_t generation, error_code ec) = 0;
  virtual void on_transport_written(std::uint64_t generation, error_code ec) = 0;
  virtual void on_transport_closed(std::uint64_t generation, error_code ec) = 0;
  // A ping or pong arrived (pings are answered by the transport).
  virtual void on_transport_control(std::uint64_t generation, bool pong) = 0;
  // Everything received so far has been delivered: the next bytes must come from the network.
  // The end of a burst, so the moment to publish what the burst produced.
  virtual void on_transport_starved(std::uint64_t) {}

 protected:
  ~transport_listener() = default;
};

struct upgrade_request {
  std::string host_header;  // host[:port], IPv6 in brackets
  std::string target;       // path and query, credential included
  // The Authorization header's value (`Bearer <credential>`); empty = no such header. Cleared,
  // like target, once the request is written.
  std::string authorization;
  std::string user_agent;
  std::uint64_t max_payload = 0;
};

// What the server answered to the upgrade request (set once on_transport_connected ran).
struct upgrade_response {
  unsigned status = 0;  // 0 when no HTTP response was read
  std::string retry_after;
  std::string upgrade_header;
};

// All members run on the io thread. At most one write/ping/close is outstanding at a time (the
// client's write queue guarantees it); the transport queues its own pongs (at most one waits)
// and close answers, so its queue stays a few frames long whatever the peer does.
class transport {
 public:
  virtual ~transport() = default;

  virtual void connect(const boost::asio::ip::tcp::resolver::results_type& endpoints,
                       const upgrade_request& request) = 0;
  // Delivers messages (buffered ones first, then from the network) until the listener returns
  // false or reading fails. Calling it while delivery is already on is harmless.
  virtual void read() = 0;
  // `text` must stay valid until on_transport_written.
  virtual void write_text(std::string_view text) = 0;
  virtual void ping() = 0;   // completes through on_transport_written
  virtual void close() = 0;  // close handshake with code 1000; ends in on_transport_closed
  virtual void cut() noexcept = 0;  // closes the socket at once; pending operations fail

  // A write is waiting for the socket; with frames_written(), tells a peer that stopped reading.
  virtual bool write_waiting() const noexcept = 0;
  virtual std::uint64_t frames_written() const noexcept = 0;

  virtual const upgrade_response& response() const noexcept = 0;
  // The peer's close frame, when one arrived (code 0 otherwise).
  virtual std::uint16_t close_code() const noexcept = 0;
  virtual std::string close_reason() const = 0;
  // Non-empty when the TLS handshake failed because the peer's certificate was refused.
  virtual const std::string& verify_failure() const noexcept = 0;
};

std::shared_ptr<transport> make_plain_transport(const strand_type& strand,
                                                std::weak_ptr<transport_listener> listener,
                                                std::uint64_t generation);

// Builds the client TLS context once per client. Returns null and sets `error` when a PEM in
// the configuration cannot be used or no trust store can be loaded.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_config& config, std::string& error);

// `server_name` is used for SNI (unless it is an IP literal) and for hostname verification.
std::shared_ptr<transport> make_tls_transport(const strand_type& strand,
                                              std::weak_ptr<transport_listener> listener,
                                              std::uint64_t generation,
                                              std::shared_ptr<boost::asio::ssl::context> context,
                                              std::string server_name, bool verify_peer);

}  // namespace vr::detail
