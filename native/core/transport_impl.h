// The Beast implementation of vr::detail::transport, shared by transport_plain.cpp and
// transport_tls.cpp. Only those two translation units include this header.
#pragma once

#include <utility>

#include <boost/beast/core.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket.hpp>

#include "core/transport.h"

namespace vr::detail {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

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
    beast::get_lowest_layer(ws_).async_connect(
        endpoints, [self = this->shared_from_this()](error_code ec, const boost::asio::ip::tcp::endpoint&) {
          self->on_tcp(ec);
        });
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
    beast::get_lowest_layer(ws_).socket().close(ignored);
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
    beast::get_lowest_layer(ws_).socket().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
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
