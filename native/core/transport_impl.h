// The Beast implementation of vr::detail::transport, shared by transport_plain.cpp and
// transport_tls.cpp. Only those two translation units include this header.
#pragma once

#include <cstring>
#include <functional>
#include <memory>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket.hpp>

#include "core/transport.h"

namespace vr::detail {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, strand_type>;

// The TCP socket under the websocket (or under TLS). Beast reads at most 1536 bytes per call
// (websocket::stream::tcp_frame_size), which costs one system call per three ~500-byte events;
// this layer reads whatever the kernel holds, up to kCapacity, and serves Beast from memory.
// When it runs dry it tells its owner before waiting on the network: the end of a burst.
class read_ahead_socket {
 public:
  using executor_type = strand_type;
  using next_layer_type = socket_type;
  using lowest_layer_type = socket_type::lowest_layer_type;

  static constexpr std::size_t kCapacity = 64 * 1024;

  explicit read_ahead_socket(const strand_type& executor)
      : socket_(executor), data_(std::make_unique<char[]>(kCapacity)) {}

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  socket_type& next_layer() noexcept { return socket_; }
  lowest_layer_type& lowest_layer() noexcept { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const noexcept { return socket_.lowest_layer(); }

  // Called (io thread) when a read finds nothing buffered here nor in the kernel.
  void on_starved(std::function<void()> f) { starved_ = std::move(f); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) { start_read(b, std::move(handler)); }, token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  // io thread (all below).
  template <class MutableBuffers, class Handler>
  void start_read(const MutableBuffers& buffers, Handler handler) {
    error_code ec;
    if (begin_ == end_) {
      fill(ec);
      if (ec == boost::asio::error::would_block) {
        if (starved_) starved_();
        socket_.async_wait(socket_type::wait_read,
                           [this, buffers, handler = std::move(handler)](error_code wait_ec) mutable {
                             if (wait_ec) return std::move(handler)(wait_ec, std::size_t{0});
                             start_read(buffers, std::move(handler));
                           });
        return;
      }
    }
    const std::size_t n = ec ? 0 : take(buffers);
    boost::asio::post(socket_.get_executor(), beast::bind_front_handler(std::move(handler), ec, n));
  }

  // One non-blocking read of whatever the kernel has.
  void fill(error_code& ec) {
    if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
    if (ec) return;
    begin_ = end_ = 0;
    end_ = socket_.read_some(boost::asio::buffer(data_.get(), kCapacity), ec);
  }

  template <class MutableBuffers>
  std::size_t take(const MutableBuffers& buffers) {
    const std::size_t n = boost::asio::buffer_copy(buffers, boost::asio::buffer(data_.get() + begin_, end_ - begin_));
    begin_ += n;
    return n;
  }

  socket_type socket_;
  std::unique_ptr<char[]> data_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::function<void()> starved_;
};

// Beast's websocket finds these by argument-dependent lookup; the close handshake ends on the
// socket itself.
inline void teardown(beast::role_type role, read_ahead_socket& s, error_code& ec) {
  websocket::teardown(role, s.next_layer(), ec);
}

template <class Handler>
void async_teardown(beast::role_type role, read_ahead_socket& s, Handler&& handler) {
  websocket::async_teardown(role, s.next_layer(), std::forward<Handler>(handler));
}

inline read_ahead_socket& read_ahead_of(read_ahead_socket& s) noexcept { return s; }
template <class Stream>
read_ahead_socket& read_ahead_of(Stream& s) noexcept {
  return read_ahead_of(s.next_layer());
}

template <class NextLayer>
class ws_transport : public transport, public std::enable_shared_from_this<ws_transport<NextLayer>> {
 public:
  template <class... Args>
  ws_transport(std::weak_ptr<transport_listener> listener, std::uint64_t generation, Args&&... args)
      : ws_(std::forward<Args>(args)...), listener_(std::move(listener)), generation_(generation) {}

  // io thread (all members below).
  void connect(const boost::asio::ip::tcp::resolver::results_type& endpoints,
               const upgrade_request& request) override {
    request_ = request;
    read_ahead_of(ws_.next_layer()).on_starved([this] {
      // Runs inside one of our reads, whose handler keeps this object alive.
      if (auto l = listener_.lock()) l->on_transport_starved(generation_);
    });
    boost::asio::async_connect(
        read_ahead_of(ws_.next_layer()).next_layer(), endpoints,
        [self = this->shared_from_this()](error_code ec, const boost::asio::ip::tcp::endpoint&) { self->on_tcp(ec); });
  }

  void read() override {
    ws_.async_read(buffer_, [self = this->shared_from_this()](error_code ec, std::size_t bytes) {
      if (auto l = self->listener_.lock()) l->on_transport_read(self->generation_, ec, bytes);
    });
  }

  beast::flat_buffer& buffer() noexcept override { return buffer_; }
  bool got_text() const noexcept override { return ws_.got_text(); }

  void write_text(std::string_view text) override {
    ws_.text(true);
    ws_.async_write(boost::asio::buffer(text.data(), text.size()),
                    [self = this->shared_from_this()](error_code ec, std::size_t) { self->notify_written(ec); });
  }

  void ping() override {
    ws_.async_ping({}, [self = this->shared_from_this()](error_code ec) { self->notify_written(ec); });
  }

  void close() override {
    ws_.async_close(websocket::close_code::normal, [self = this->shared_from_this()](error_code ec) {
      if (auto l = self->listener_.lock()) l->on_transport_closed(self->generation_, ec);
    });
  }

  void cut() noexcept override {
    error_code ignored;
    read_ahead_of(ws_.next_layer()).next_layer().close(ignored);
  }

  const upgrade_response& response() const noexcept override { return response_; }
  std::uint16_t close_code() const noexcept override { return ws_.reason().code; }
  std::string close_reason() const override { return std::string(ws_.reason().reason.c_str()); }
  const std::string& verify_failure() const noexcept override { return verify_failure_; }

 protected:
  // Runs after the TCP connection is up; the TLS transport does its handshake first.
  virtual void on_tcp_connected() { start_upgrade(); }

  void notify_connected(error_code ec, connect_stage stage) {
    if (auto l = listener_.lock()) l->on_transport_connected(generation_, ec, stage);
  }

  void start_upgrade() {
    ws_.read_message_max(request_.max_payload);
    ws_.auto_fragment(false);
    ws_.set_option(websocket::stream_base::decorator(
        [agent = request_.user_agent](websocket::request_type& req) { req.set(beast::http::field::user_agent, agent); }));
    ws_.async_handshake(res_, request_.host_header, request_.target,
                        [self = this->shared_from_this()](error_code ec) { self->on_upgrade(ec); });
  }

  websocket::stream<NextLayer> ws_;
  std::string verify_failure_;

 private:
  void on_tcp(error_code ec) {
    if (ec) return notify_connected(ec, connect_stage::tcp);
    error_code ignored;
    read_ahead_of(ws_.next_layer()).next_layer().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    on_tcp_connected();
  }

  void on_upgrade(error_code ec) {
    // A status is only meaningful when Beast parsed a response: success, or one of its
    // websocket handshake errors (upgrade_declined for a non-101 status).
    if (!ec || ec.category() == websocket::make_error_code(websocket::error::upgrade_declined).category()) {
      response_.status = res_.result_int();
      response_.retry_after = std::string(res_[beast::http::field::retry_after]);
      response_.upgrade_header = std::string(res_[beast::http::field::upgrade]);
    }
    res_ = {};
    request_.target.clear();
    if (!ec) {
      ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
        // Runs inside our own read operation, whose handler keeps this object alive.
        if (auto l = listener_.lock()) l->on_transport_control(generation_, kind == websocket::frame_type::pong);
      });
    }
    notify_connected(ec, connect_stage::upgrade);
  }

  void notify_written(error_code ec) {
    if (auto l = listener_.lock()) l->on_transport_written(generation_, ec);
  }

  beast::flat_buffer buffer_;
  websocket::response_type res_;
  upgrade_request request_;
  upgrade_response response_;
  std::weak_ptr<transport_listener> listener_;
  std::uint64_t generation_;
};

}  // namespace vr::detail
