// The implementation of vr::detail::transport, shared by transport_plain.cpp and
// transport_tls.cpp. Only those two translation units include this header.
//
// Beast connects, runs TLS and the HTTP upgrade. From then on the transport reads and writes
// the frames itself: Beast's websocket stream costs a composed operation, a handler post, a copy
// and a UTF-8 pass for every message, which made the io thread the limit at about a million
// small messages per second. Here one read fills a 64 KB buffer and every complete message in it
// is handed to the listener in place, with no allocation; text is validated by the codec's JSON
// parse, which checks UTF-8 anyway.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/error.hpp>
#include <openssl/rand.h>

#include "core/transport.h"
#include "core/upgrade_check.h"
#include "core/ws_frame.h"

namespace vr::detail {

namespace beast = boost::beast;
namespace http = boost::beast::http;

using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, strand_type>;

// Under TLS: the TCP socket, read ahead in large pieces. OpenSSL asks for one record at a time;
// this layer reads whatever the kernel holds, serves the records from memory and, when it runs
// dry, tells its owner before waiting on the network: the end of a burst.
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

  // Serves at most one TLS record per read. Handed several records at once, the TLS engine
  // decrypted the first and then waited on the network for more instead of decrypting the
  // others: records that arrived together stalled until the next packet came.
  template <class MutableBuffers>
  std::size_t take(const MutableBuffers& buffers) {
    const char* p = data_.get() + begin_;
    std::size_t avail = end_ - begin_;
    if (record_left_ == 0 && header_have_ + avail >= kRecordHeader) {
      // A record header (type, version, 16-bit length) is complete: the record's size is known.
      const std::size_t need = kRecordHeader - header_have_;
      std::memcpy(header_ + header_have_, p, need);
      record_left_ = kRecordHeader + ((std::size_t{header_[3]} << 8) | header_[4]) - header_have_;
      header_have_ = 0;
    }
    if (record_left_ != 0) avail = std::min(avail, record_left_);
    const std::size_t n = boost::asio::buffer_copy(buffers, boost::asio::buffer(p, avail));
    if (record_left_ != 0) {
      record_left_ -= n;
    } else {
      // Part of a header (fewer than kRecordHeader bytes have arrived).
      std::memcpy(header_ + header_have_, p, n);
      header_have_ += n;
    }
    begin_ += n;
    return n;
  }

  static constexpr std::size_t kRecordHeader = 5;

  socket_type socket_;
  std::unique_ptr<char[]> data_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t record_left_ = 0;  // bytes of the current TLS record not handed out yet
  unsigned char header_[kRecordHeader] = {};
  std::size_t header_have_ = 0;  // bytes of a split record header handed out so far
  std::function<void()> starved_;
};

inline socket_type& tcp_socket_of(socket_type& s) noexcept { return s; }
template <class Stream>
socket_type& tcp_socket_of(Stream& s) noexcept {
  return tcp_socket_of(s.next_layer());
}

inline void random_bytes(unsigned char* out, int n) noexcept {
  if (RAND_bytes(out, n) == 1) return;
  // OpenSSL's generator failing is not a reason to drop a connection; masking keys and the
  // handshake nonce still differ per use.
  static thread_local std::uint64_t state = 0x9e3779b97f4a7c15ull ^ reinterpret_cast<std::uintptr_t>(&state);
  for (int i = 0; i < n; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    out[i] = static_cast<unsigned char>(state >> 56);
  }
}

template <class Stream>
class ws_transport : public transport, public std::enable_shared_from_this<ws_transport<Stream>> {
  static constexpr bool kPlain = std::is_same_v<Stream, socket_type>;

 public:
  template <class... Args>
  ws_transport(std::weak_ptr<transport_listener> listener, std::uint64_t generation, Args&&... args)
      : stream_(std::forward<Args>(args)...), listener_(std::move(listener)), generation_(generation) {}

  // io thread (all members below).
  void connect(const boost::asio::ip::tcp::resolver::results_type& endpoints,
               const upgrade_request& request) override {
    request_ = request;
    reader_.emplace(request.max_payload ? request.max_payload : std::uint64_t{16} << 20);
    if constexpr (!kPlain) {
      stream_.next_layer().on_starved([this] {
        // Runs inside one of our reads, whose handler keeps this object alive.
        notify_starved();
      });
    }
    boost::asio::async_connect(
        tcp_socket_of(stream_), endpoints,
        [self = this->shared_from_this()](error_code ec, const boost::asio::ip::tcp::endpoint&) { self->on_tcp(ec); });
  }

  void read() override {
    want_ = true;
    pump();
  }

  void write_text(std::string_view text) override { send(ws::text, text, after::notify); }

  void ping() override { send(ws::ping, {}, after::notify); }

  void close() override {
    if (closing_) return;
    closing_ = true;
    if (got_close_) {
      // The peer closed first and our answer is on its way (or gone): that is the handshake.
      if (echo_done_) {
        boost::asio::post(stream_.get_executor(),
                          [self = this->shared_from_this()] { self->notify_closed({}); });
      }
      return;
    }
    send(ws::close, ws::close_payload(1000), after::close_sent);
    // The peer's close frame may sit behind events nobody will read any more.
    pump();
  }

  void cut() noexcept override {
    cut_ = true;
    error_code ignored;
    tcp_socket_of(stream_).close(ignored);
  }

  bool write_waiting() const noexcept override { return writing_; }
  std::uint64_t frames_written() const noexcept override { return frames_written_; }

  const upgrade_response& response() const noexcept override { return response_; }
  std::uint16_t close_code() const noexcept override { return close_code_; }
  std::string close_reason() const override { return close_reason_; }
  const std::string& verify_failure() const noexcept override { return verify_failure_; }

 protected:
  // Runs after the TCP connection is up; the TLS transport does its handshake first.
  virtual void on_tcp_connected() { start_upgrade(); }

  void notify_connected(error_code ec, connect_stage stage) {
    if (auto l = listener_.lock()) l->on_transport_connected(generation_, ec, stage);
  }

  void start_upgrade() {
    unsigned char nonce[16];
    random_bytes(nonce, sizeof nonce);
    key_ = ws::base64_encode(nonce, sizeof nonce);
    request_message_.emplace(http::verb::get, request_.target, 11);
    auto& req = *request_message_;
    req.set(http::field::host, request_.host_header);
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::sec_websocket_key, key_);
    req.set(http::field::sec_websocket_version, "13");
    req.set(http::field::user_agent, request_.user_agent);
    if (!request_.authorization.empty()) req.set(http::field::authorization, request_.authorization);
    http::async_write(stream_, req, [self = this->shared_from_this()](error_code ec, std::size_t) {
      self->on_request_written(ec);
    });
  }

  Stream stream_;
  std::string verify_failure_;

 private:
  enum class after { notify, pong, close_sent, echo_sent, failure_sent };
  struct out_frame {
    std::string bytes;
    after then;
  };

  void on_tcp(error_code ec) {
    if (ec) return notify_connected(ec, connect_stage::tcp);
    error_code ignored;
    tcp_socket_of(stream_).set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    on_tcp_connected();
  }

  void on_request_written(error_code ec) {
    request_message_.reset();
    request_.target.clear();  // it may carry the credential
    request_.authorization.clear();
    if (ec) return notify_connected(ec, connect_stage::upgrade);
    parser_.emplace();
    http::async_read_header(stream_, handshake_buffer_, *parser_,
                            [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_response(ec); });
  }

  void on_response(error_code ec) {
    if (ec) return notify_connected(ec, connect_stage::upgrade);
    ec = read_upgrade_response(parser_->get(), key_, response_);
    if (!ec) {
      // Frames the server sent right behind its 101 came with the same read.
      const auto rest = handshake_buffer_.data();
      reader_->append(static_cast<const char*>(rest.data()), rest.size());
      if constexpr (kPlain) stream_.non_blocking(true, ec);
    }
    parser_.reset();
    handshake_buffer_ = beast::flat_buffer();
    notify_connected(ec, connect_stage::upgrade);
  }

  // --- reading ---------------------------------------------------------------------------

  // Delivers what is buffered, then reads more, until the listener pauses, the connection
  // fails, or the socket has nothing; then one asynchronous wait (or read) continues it.
  void pump() {
    if (pumping_ || read_pending_ || cut_ || read_failed_ || !reader_) return;
    pumping_ = true;
    auto self = this->shared_from_this();  // listeners may drop their reference meanwhile
    try {
      pump_some();
    } catch (const std::bad_alloc&) {
      // A buffer for what arrived could not be had: this connection cannot go on, and the
      // listener hears why instead of the failure vanishing in the io loop.
      pumping_ = false;
      return on_read_error(boost::system::errc::make_error_code(boost::system::errc::not_enough_memory));
    }
    pumping_ = false;
  }

  void pump_some() {
    auto self = this->shared_from_this();
    for (unsigned reads = 0; deliver();) {
      if constexpr (kPlain) {
        error_code ec;
        const ws::message_reader::room room = reader_->prepare();
        const std::size_t n = stream_.read_some(boost::asio::buffer(room.data, room.size), ec);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
          notify_starved();
          read_pending_ = true;
          stream_.async_wait(socket_type::wait_read, [self](error_code wait_ec) {
            self->read_pending_ = false;
            if (wait_ec) return self->on_read_error(wait_ec);
            self->pump();
          });
          break;
        }
        if (ec) {
          on_read_error(ec);
          break;
        }
        reader_->commit_read(n);
        // Other connections, timers and the JS thread's requests share this thread.
        if (++reads == kReadsPerTurn) {
          read_pending_ = true;
          boost::asio::post(stream_.get_executor(), [self] {
            self->read_pending_ = false;
            self->pump();
          });
          break;
        }
      } else {
        read_pending_ = true;
        const ws::message_reader::room room = reader_->prepare();
        stream_.async_read_some(boost::asio::buffer(room.data, room.size),
                                [self](error_code ec, std::size_t n) {
                                  self->read_pending_ = false;
                                  if (ec) return self->on_read_error(ec);
                                  self->reader_->commit(n);
                                  self->pump();
                                });
        break;
      }
    }
  }

  // Hands over every complete message in the buffer. Returns true when the buffer holds no
  // complete frame and reading should go on.
  bool deliver() {
    auto l = listener_.lock();
    if (!l) return false;
    ws::message_reader::item item;
    for (;;) {
      if (cut_ || got_close_ || (!want_ && !closing_)) return false;
      switch (reader_->next(item)) {
        case ws::message_reader::result::more:
          return true;
        case ws::message_reader::result::message:
          // After close() only the peer's close frame matters.
          if (closing_) break;
          if (!l->on_transport_message(generation_, item.payload.data(), item.payload.size(), item.text)) {
            want_ = false;
          }
          break;
        case ws::message_reader::result::ping:
          send_pong(item.payload);
          l->on_transport_control(generation_, false);
          break;
        case ws::message_reader::result::pong:
          l->on_transport_control(generation_, true);
          break;
        case ws::message_reader::result::close:
          got_close_ = true;
          close_code_ = item.close_code;
          close_reason_.assign(item.close_reason);
          if (closing_) {
            if (close_sent_) notify_closed({});
          } else {
            // RFC 6455 5.5.1: answer with the code received; the failure is reported once the
            // answer went out.
            send(ws::close, item.close_code ? ws::close_payload(item.close_code) : std::string(), after::echo_sent);
          }
          return false;
        case ws::message_reader::result::error:
          read_failed_ = true;
          failure_ = item.ec;
          if (closing_) {
            notify_closed(item.ec);
          } else {
            // Tell the peer why (1009 or 1002) before reporting; Beast did the same.
            const std::uint16_t code = item.ec == beast::websocket::error::message_too_big ? 1009 : 1002;
            send(ws::close, ws::close_payload(code), after::failure_sent);
          }
          return false;
      }
    }
  }

  void on_read_error(error_code ec) {
    if (cut_ || read_failed_) return;
    read_failed_ = true;
    if (closing_) return notify_closed(ec);
    notify_failed(ec);
  }

  // --- writing ---------------------------------------------------------------------------

  void send(std::uint8_t op, std::string_view payload, after then) {
    unsigned char mask[4];
    random_bytes(mask, sizeof mask);
    out_.push_back({ws::encode_frame(op, payload, mask), then});
    write_next();
  }

  // RFC 6455 5.5.3: a pong may answer only the most recent ping. So at most one pong waits: a
  // newer ping replaces its payload, and a peer that pings without reading cannot grow the
  // queue.
  void send_pong(std::string_view payload) {
    for (std::size_t i = writing_ ? 1 : 0; i < out_.size(); ++i) {
      if (out_[i].then != after::pong) continue;
      unsigned char mask[4];
      random_bytes(mask, sizeof mask);
      out_[i].bytes = ws::encode_frame(ws::pong, payload, mask);
      return;
    }
    send(ws::pong, payload, after::pong);
  }

  void write_next() {
    if (writing_ || out_.empty() || cut_) return;
    writing_ = true;
    boost::asio::async_write(stream_, boost::asio::buffer(out_.front().bytes),
                             [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_written(ec); });
  }

  void on_written(error_code ec) {
    writing_ = false;
    if (out_.empty()) return;
    const after then = out_.front().then;
    out_.pop_front();
    if (!ec) ++frames_written_;
    complete(then, ec);
    if (!ec) return write_next();
    // Nothing more will go out: every queued write ends with the same error.
    while (!out_.empty()) {
      const after next = out_.front().then;
      out_.pop_front();
      complete(next, ec);
    }
  }

  void complete(after then, error_code ec) {
    switch (then) {
      case after::pong:
        return;
      case after::notify:
        if (auto l = listener_.lock()) l->on_transport_written(generation_, ec);
        return;
      case after::close_sent:
        close_sent_ = true;
        if (ec || got_close_) notify_closed(ec);
        return;
      case after::echo_sent:
        echo_done_ = true;
        if (closing_) return notify_closed({});
        return notify_failed(beast::websocket::error::closed);
      case after::failure_sent:
        return notify_failed(failure_);
    }
  }

  void notify_failed(error_code ec) {
    if (cut_) return;
    if (auto l = listener_.lock()) l->on_transport_failed(generation_, ec);
  }

  void notify_closed(error_code ec) {
    if (cut_ || closed_notified_) return;
    closed_notified_ = true;
    if (auto l = listener_.lock()) l->on_transport_closed(generation_, ec);
  }

  void notify_starved() {
    if (cut_) return;
    if (auto l = listener_.lock()) l->on_transport_starved(generation_);
  }

  static constexpr unsigned kReadsPerTurn = 4;

  std::optional<ws::message_reader> reader_;
  std::deque<out_frame> out_;
  beast::flat_buffer handshake_buffer_{16 * 1024};
  std::optional<http::request<http::empty_body>> request_message_;
  std::optional<http::response_parser<http::empty_body>> parser_;
  std::string key_;
  upgrade_request request_;
  upgrade_response response_;
  std::weak_ptr<transport_listener> listener_;
  std::uint64_t generation_;
  error_code failure_;
  std::string close_reason_;
  std::uint16_t close_code_ = 0;
  bool want_ = false;         // the listener wants messages
  bool pumping_ = false;
  bool read_pending_ = false;
  bool read_failed_ = false;
  bool writing_ = false;
  bool closing_ = false;      // close() was called
  bool close_sent_ = false;
  bool got_close_ = false;    // the peer's close frame arrived
  bool echo_done_ = false;
  bool closed_notified_ = false;
  bool cut_ = false;
  std::uint64_t frames_written_ = 0;
};

}  // namespace vr::detail
