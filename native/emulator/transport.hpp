// The transport half of a session, shared by the plain and the TLS instantiation: optional TLS
// handshake, the HTTP upgrade request, the decision (auth.cpp), and the raw socket reads and
// gathered writes session_base asks for. Included by session_plain.cpp and session_tls.cpp only.
#pragma once

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "emulator/state.h"

namespace vr::emu::detail {

namespace http = boost::beast::http;

template <class Stream>
class session final : public session_base {
 public:
  static constexpr bool tls = !std::is_same_v<Stream, asio::ip::tcp::socket>;

  template <class... Args>
  session(std::shared_ptr<server_state> st, asio::any_io_executor ex, Args&&... args)
      : session_base(std::move(st), ex), stream_(std::forward<Args>(args)...), handshake_timer_(ex) {}

  // Strand (the socket's): the whole handshake is bounded by one deadline.
  void run() {
    handshake_timer_.expires_after(std::chrono::seconds(15));
    handshake_timer_.async_wait([self = me()](const error_code& ec) {
      if (!ec && !self->upgraded_) self->close_socket();
    });
    if constexpr (tls) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = me()](const error_code& ec) { self->on_tls(ec); });
    } else {
      read_request();
    }
  }

 private:
  std::shared_ptr<session> me() { return std::static_pointer_cast<session>(shared_from_this()); }

  asio::ip::tcp::socket& lowest() {
    if constexpr (tls)
      return stream_.next_layer();
    else
      return stream_;
  }

  void on_tls(const error_code& ec) {
    if (ec) return close_socket();
    read_request();
  }

  void read_request() {
    parser_.header_limit(16 * 1024);
    http::async_read(stream_, hbuf_, parser_,
                     [self = me()](const error_code& ec, std::size_t) { self->on_request(ec); });
  }

  void on_request(const error_code& ec) {
    if (ec) return close_socket();
    auto& req = parser_.get();
    upgrade_request info;
    info.target = req.target();
    info.cookie = req[http::field::cookie];
    info.authorization = req[http::field::authorization];
    info.websocket = boost::beast::websocket::is_upgrade(req) && !req[http::field::sec_websocket_key].empty() &&
                     req[http::field::sec_websocket_version] == "13";
    auto decision = decide_upgrade(*state_, info);
    if (decision.status != 101) {
      if (decision.status != 200) state_->upgrades_refused++;
      res_.result(static_cast<http::status>(decision.status));
      res_.set(http::field::server, "voip-realtime-emulator");
      res_.set(http::field::content_type, "application/json");
      if (decision.retry_after_s > 0) res_.set(http::field::retry_after, std::to_string(decision.retry_after_s));
      res_.keep_alive(false);
      res_.body() = std::move(decision.body);
      res_.prepare_payload();
      return http::async_write(stream_, res_, [self = me()](const error_code& e, std::size_t) { self->on_refused(e); });
    }
    if (!upgrading(std::move(decision.who))) return;
    upgrade_.result(http::status::switching_protocols);
    upgrade_.set(http::field::server, "voip-realtime-emulator");
    upgrade_.set(http::field::upgrade, "websocket");
    upgrade_.set(http::field::connection, "Upgrade");
    upgrade_.set(http::field::sec_websocket_accept, ws::accept_key(req[http::field::sec_websocket_key]));
    http::async_write(stream_, upgrade_, [self = me()](const error_code& e, std::size_t) { self->on_upgraded(e); });
  }

  void on_refused(const error_code& ec) {
    if (ec) return close_socket();
    // Half-close and drain, so the peer reads the whole response instead of a reset.
    error_code ignored;
    lowest().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    drain();
  }

  void drain() {
    lowest().async_read_some(asio::buffer(drain_buf_), [self = me()](const error_code& ec, std::size_t) {
      if (ec) return self->close_socket();
      self->drain();
    });
  }

  void on_upgraded(const error_code& ec) {
    upgraded_ = !ec;
    handshake_timer_.cancel();
    auto data = hbuf_.data();
    opened(ec, std::string_view(static_cast<const char*>(data.data()), data.size()));
  }

  void do_read(asio::mutable_buffer into) override {
    stream_.async_read_some(into, [self = me()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
  }

  void do_write(const std::vector<asio::const_buffer>& bufs) override {
    asio::async_write(stream_, bufs, [self = me()](const error_code& ec, std::size_t n) { self->on_write(ec, n); });
  }

  void close_socket() override {
    error_code ignored;
    handshake_timer_.cancel();
    lowest().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    lowest().close(ignored);
  }

  Stream stream_;
  asio::steady_timer handshake_timer_;
  boost::beast::flat_buffer hbuf_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> res_;
  http::response<http::empty_body> upgrade_;
  bool upgraded_ = false;
  char drain_buf_[1024];
};

}  // namespace vr::emu::detail
