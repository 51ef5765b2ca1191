// The connection state machine behind vr::client. Everything here runs on the client's strand
// (io thread) unless a comment says otherwise; the public methods only post to it.
//
// Phases: idle -> connecting (token wait, resolve, TCP, TLS, upgrade) -> handshake (the
// protocol's post-upgrade exchange, if it has one) -> open -> closing -> finished, with `backoff` between a lost connection or failed attempt and the next attempt.
// Every transport is tied to a generation number so completions of an abandoned attempt are
// ignored.
#include "core/client.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <deque>
#include <iomanip>
#include <new>
#include <optional>
#include <random>
#include <sstream>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

#include "core/codec.h"
#include "core/topic.h"
#include "core/transport.h"
#include "core/protocol.h"
#include "core/ws_frame.h"

namespace vr {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using detail::connect_stage;
using detail::error_code;

// Why an attempt or a connection ended, as reported to JS in close records.
struct failure {
  std::string code;
  std::string message;
  unsigned status = 0;       // HTTP status of a refused upgrade
  double retry_after = -1;   // ms, from Retry-After; < 0 when absent
  bool terminal = false;     // no further attempt whatever the reconnect policy says
  bool credential = false;   // the credential was refused: a fresh one from getToken may fix it
  const char* cause = nullptr;  // what failed before the attempt, for JS ("token" = getToken)
  std::uint64_t count = 1;   // repeats of the same fault reported as one
  bool reported = false;     // JS already heard of it as a refused subscribe: no error of its own
};

void append_number(std::string& out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_error(std::string& out, const failure& f) {
  out += "{\"code\":";
  append_json_string(out, f.code);
  out += ",\"message\":";
  append_json_string(out, f.message);
  if (f.status) {
    out += ",\"status\":";
    append_number(out, f.status);
  }
  if (f.retry_after >= 0) {
    out += ",\"retryAfter\":";
    append_number(out, f.retry_after);
  }
  if (f.reported) out += ",\"reported\":true";
  if (f.cause) {
    out += ",\"cause\":\"";
    out += f.cause;
    out += '"';
  }
  if (f.count > 1) {
    out += ",\"count\":";
    append_number(out, static_cast<double>(f.count));
  }
  out += '}';
}

// Retry-After is either delay-seconds or an HTTP-date (RFC 9110 10.2.3). Returns ms, or -1.
double parse_retry_after(const std::string& value) {
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    double seconds = 0;
    std::from_chars(value.data(), value.data() + value.size(), seconds);
    return seconds * 1000;
  }
  std::tm tm{};
  std::istringstream in(value);
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) return -1;
  const std::time_t at = timegm(&tm);
  const auto now = std::chrono::system_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::system_clock::from_time_t(at) - now).count();
  return std::max(0.0, std::floor(ms));
}

std::string host_header(const client_config& c) {
  const bool ipv6 = c.host.find(':') != std::string::npos;
  std::string h = ipv6 ? "[" + c.host + "]" : c.host;
  const bool default_port = (c.secure && c.port == "443") || (!c.secure && c.port == "80");
  if (!default_port) h += ":" + c.port;
  return h;
}

bool is_terminal_code(std::string_view code) { return code == "AUTH_FAILED" || code == "TLS_ERROR"; }

// Counters read by stats() on the JS thread and written only on the io thread: a plain load and
// store is enough (and costs no locked instruction per frame).
void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

class client_impl final : public client,
                          public detail::transport_listener,
                          public protocol_host,
                          public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(io_runtime& runtime, client_config config, std::function<void()> wake)
      : config_(std::move(config)),
        strand_(runtime.context().get_executor()),
        resolver_(strand_),
        connect_timer_(strand_),
        retry_timer_(strand_),
        ping_timer_(strand_),
        pong_timer_(strand_),
        close_timer_(strand_),
        healthy_timer_(strand_),
        queue_(config_.max_queue ? config_.max_queue : 1, std::move(wake)),
        backoff_(config_.reconnect, config_.seed ? config_.seed : std::random_device{}()),
        proto_(make_protocol(strand_, config_, matcher_, *this)) {}

  // Any thread.
  void start() override { post([](client_impl& c) { c.do_start(); }); }

  // Any thread.
  void subscribe(std::vector<std::string> patterns) override {
    post([p = std::move(patterns)](client_impl& c) mutable { c.do_subscribe(std::move(p)); });
  }

  // Any thread.
  void unsubscribe(std::vector<std::string> patterns) override {
    post([p = std::move(patterns)](client_impl& c) mutable { c.do_unsubscribe(std::move(p)); });
  }

  // Any thread.
  void drop(std::vector<std::string> patterns) override {
    post([p = std::move(patterns)](client_impl& c) {
      if (c.phase_ == phase::finished) return;
      c.proto_->drop(p);
    });
  }

  // Any thread.
  void set_target(std::string target, std::string credential) override {
    post([t = std::move(target), k = std::move(credential)](client_impl& c) mutable {
      c.do_set_target(std::move(t), std::move(k));
    });
  }

  // Any thread.
  void token_failed(std::string code, std::string message) override {
    post([code = std::move(code), message = std::move(message)](client_impl& c) mutable {
      c.do_token_failed(std::move(code), std::move(message));
    });
  }

  // Any thread.
  void close() override { post([](client_impl& c) { c.do_close(); }); }

  // Any thread.
  void refresh() override {
    post([](client_impl& c) {
      if (c.phase_ != phase::open) return;
      c.lose_connection({});
    });
  }

  // Any thread (the JS thread after each batch).
  void resume_reading() override {
    post([](client_impl& c) {
      // A resume posted before the last pause must not read past the bound.
      if (!c.paused_ || c.queue_.records() >= c.queue_.max_events()) return;
      c.paused_ = false;
      if ((c.phase_ == phase::open || c.phase_ == phase::handshake) && !c.reading_) c.read();
    });
  }

  event_queue& queue() noexcept override { return queue_; }

  // JS thread.
  client_stats stats() const override {
    client_stats s;
    s.received = received_.load(std::memory_order_relaxed);
    s.filtered = filtered_.load(std::memory_order_relaxed);
    s.duplicates = duplicates_.load(std::memory_order_relaxed);
    s.malformed = malformed_.load(std::memory_order_relaxed);
    s.bytes_received = bytes_received_.load(std::memory_order_relaxed);
    s.reconnects = reconnects_.load(std::memory_order_relaxed);
    s.last_event_at = last_event_at_.load(std::memory_order_relaxed);
    const std::uint64_t pushed = pushed_.load(std::memory_order_relaxed);
    s.queue_depth = queue_.depth();
    s.delivered = pushed > s.queue_depth ? pushed - s.queue_depth : 0;
    return s;
  }

  // transport_listener: io thread.
  void on_transport_connected(std::uint64_t generation, error_code ec, connect_stage stage) override {
    if (generation != generation_ || phase_ != phase::connecting) return;
    if (ec) return fail_attempt(classify_connect_error(ec, stage));
    on_upgraded();
  }

  bool on_transport_message(std::uint64_t generation, const char* data, std::size_t size, bool text) override {
    if (generation != generation_ || !reading_phase()) return false;
    alive();
    bump(bytes_received_, size);
    on_frame(data, size, text);
    if (!paused_ && reading_phase()) return true;
    reading_ = false;
    stamp_last_event();
    flush_fault();
    queue_.publish();
    return false;
  }

  void on_transport_failed(std::uint64_t generation, error_code ec) override {
    if (generation != generation_) return;
    reading_ = false;
    if (phase_ == phase::handshake) return fail_handshake(classify_read_error(ec));
    if (phase_ != phase::open) return;
    lose_connection(classify_read_error(ec));
  }

  void on_transport_written(std::uint64_t generation, error_code ec) override {
    if (generation != generation_) return;
    write_in_flight_ = false;
    if (!writes_.empty()) writes_.pop_front();
    if (ec) {
      if (phase_ == phase::open) lose_connection({"CLOSED", "connection lost while writing: " + ec.message()});
      if (phase_ == phase::handshake) fail_attempt({"CONNECT_FAILED", "connection lost while writing: " + ec.message()});
      if (phase_ == phase::closing) finish(nullptr, 1000);
      return;
    }
    write_next();
  }

  void on_transport_closed(std::uint64_t generation, error_code) override {
    if (generation != generation_ || phase_ != phase::closing) return;
    finish(nullptr, 1000);
  }

  // A ping from the server proves it writes, not that it reads what we send: only a pong (or a
  // message) counts as an answer to the heartbeat, and a peer that pings while our writes stall
  // is caught by the write check in on_ping_timer.
  void on_transport_control(std::uint64_t generation, bool pong) override {
    if (generation != generation_ || !pong) return;
    ping_outstanding_ = false;
    alive();
  }

  // The frames of a burst are staged; the burst ends when the transport has to wait for the
  // network, and a lone event is handed over right then.
  void on_transport_starved(std::uint64_t generation) override {
    if (generation != generation_) return;
    stamp_last_event();
    flush_fault();
    queue_.publish();
  }

 private:
  enum class phase { idle, connecting, handshake, open, backoff, closing, finished };
  enum class write_kind { text, ping, close };
  struct outgoing {
    write_kind kind;
    std::string text;
  };

  template <class F>
  void post(F&& f) {
    asio::post(strand_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable {
      try {
        f(*self);
      } catch (const std::exception& e) {
        self->on_exception(e);
      }
    });
  }

  // Work that threw (std::bad_alloc in practice) left this connection in an unknown state: it
  // is reported and replaced, never left silent. Without a connection (backoff, closing) the
  // request that threw is reported as a warning; the retry or close timer carries on.
  void on_exception(const std::exception& e) noexcept {
    try {
      const std::string what = dynamic_cast<const std::bad_alloc*>(&e)
                                   ? std::string("out of memory on the io thread (") + e.what() + ")"
                                   : std::string("an io thread handler failed: ") + e.what();
      if (phase_ == phase::open) return lose_connection({"CLOSED", what + "; the connection was dropped"});
      if (phase_ == phase::connecting || phase_ == phase::handshake) {
        return fail_attempt({"CONNECT_FAILED", "the attempt failed: " + what});
      }
      std::string json = "{\"type\":\"warning\",\"message\":";
      append_json_string(json, "a request could not be carried out: " + what);
      json += '}';
      push_control(json);
    } catch (...) {
      // Out of memory again while reporting: the heartbeat still ends this connection.
    }
  }

  // --- attempts --------------------------------------------------------------------------

  void do_start() {
    if (phase_ != phase::idle) return;
    begin_attempt();
  }

  void begin_attempt() {
    phase_ = phase::connecting;
    was_open_ = false;
    push_state("connecting");
    if (config_.token_per_attempt) {
      awaiting_token_ = true;
      push_token_request(false);
      return;
    }
    resolve();
  }

  void do_set_target(std::string target, std::string credential) {
    if (phase_ != phase::connecting || !awaiting_token_) return;
    awaiting_token_ = false;
    config_.target = std::move(target);
    if (!credential.empty()) config_.credential = std::move(credential);
    refused_.reset();
    resolve();
  }

  void do_token_failed(std::string code, std::string message) {
    if (phase_ != phase::connecting || !awaiting_token_) return;
    awaiting_token_ = false;
    if (code.empty()) {
      if (refused_) {
        failure f = std::move(*refused_);
        refused_.reset();
        return end_attempt(std::move(f));
      }
      return end_attempt({"AUTH_FAILED", "no credential was provided for the connection attempt", 0, -1, true});
    }
    refused_.reset();
    const bool terminal = is_terminal_code(code);
    failure f{std::move(code), std::move(message), 0, -1, terminal};
    f.cause = "token";
    end_attempt(std::move(f));
  }

  void resolve() {
    const std::uint64_t generation = ++generation_;
    if (config_.connect_timeout_ms) {
      connect_timer_.expires_after(std::chrono::milliseconds(config_.connect_timeout_ms));
      connect_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
        if (ec || generation != self->generation_ ||
            (self->phase_ != phase::connecting && self->phase_ != phase::handshake)) {
          return;
        }
        self->fail_attempt({"CONNECT_TIMEOUT",
                            "no connection to " + self->config_.host + ":" + self->config_.port + " within " +
                                std::to_string(self->config_.connect_timeout_ms) + " ms"});
      });
    }
    resolver_.async_resolve(config_.host, config_.port,
                            [self = shared_from_this(), generation](error_code ec, tcp::resolver::results_type r) {
                              self->on_resolve(generation, ec, std::move(r));
                            });
  }

  void on_resolve(std::uint64_t generation, error_code ec, tcp::resolver::results_type results) {
    if (generation != generation_ || phase_ != phase::connecting) return;
    if (ec) return fail_attempt({"CONNECT_FAILED", "could not resolve " + config_.host + ": " + ec.message()});
    std::weak_ptr<detail::transport_listener> listener = shared_from_this();
    if (config_.secure) {
      if (!tls_context_) {
        std::string error;
        tls_context_ = detail::make_tls_context(config_.tls, error);
        if (!tls_context_) return fail_attempt({"TLS_ERROR", error, 0, -1, true});
      }
      const std::string& name = config_.tls.servername.empty() ? config_.host : config_.tls.servername;
      transport_ = detail::make_tls_transport(strand_, listener, generation_, tls_context_, name,
                                              config_.tls.reject_unauthorized);
    } else {
      transport_ = detail::make_plain_transport(strand_, listener, generation_);
    }
    detail::upgrade_request request{host_header(config_), config_.target, {}, config_.user_agent,
                                    std::min(config_.max_payload, kMaxPayload)};
    proto_->prepare_upgrade(request);
    transport_->connect(results, request);
  }

  failure classify_connect_error(const error_code& ec, connect_stage stage) const {
    const std::string where = config_.host + ":" + config_.port;
    switch (stage) {
      case connect_stage::tcp:
        return {"CONNECT_FAILED", "could not connect to " + where + ": " + ec.message()};
      case connect_stage::tls:
        if (!transport_->verify_failure().empty()) {
          return {"TLS_ERROR", "certificate verification failed for " + where + ": " + transport_->verify_failure(),
                  0, -1, true};
        }
        return {"TLS_ERROR", "TLS handshake with " + where + " failed: " + ec.message()};
      case connect_stage::upgrade:
        break;
    }
    const auto& res = transport_->response();
    const unsigned status = res.status;
    if (status == 401 || status == 403) {
      return {"AUTH_FAILED", "the server refused the credential (HTTP " + std::to_string(status) + ")", status, -1,
              true, true};
    }
    if (status == 429) {
      return {"RATE_LIMITED", "the server is rate limiting connections (HTTP 429)", status,
              parse_retry_after(res.retry_after)};
    }
    if (status >= 500 && status <= 599) {
      return {"CONNECT_FAILED", "the server failed the upgrade (HTTP " + std::to_string(status) + ")", status};
    }
    if (status == 101) {
      return {"PROTOCOL_ERROR", "invalid WebSocket upgrade response: " + ec.message(), status};
    }
    if (status == 200) {
      return {"PROTOCOL_ERROR", "the server answered HTTP 200 without upgrading to WebSocket", status};
    }
    if (status != 0) {
      return {"PROTOCOL_ERROR", "unexpected HTTP " + std::to_string(status) + " to the WebSocket upgrade", status};
    }
    if (ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated) {
      return {"TLS_ERROR", "TLS failure during the WebSocket upgrade: " + ec.message()};
    }
    if (ec.category() == boost::beast::http::make_error_code(boost::beast::http::error::bad_version).category()) {
      return {"PROTOCOL_ERROR", "the server did not answer the upgrade with HTTP: " + ec.message()};
    }
    return {"CONNECT_FAILED", "connection lost during the WebSocket upgrade: " + ec.message()};
  }

  // A failed attempt (never open). With a per-attempt token a refused credential first goes
  // back to JS, which may have a different one.
  void fail_attempt(failure f) {
    teardown_transport();
    // A credential refused after the upgrade is retried with fresh ones at most
    // kCredentialTries times in a row, the first included.
    const bool may_retry = f.status || ++credential_refusals_ < kCredentialTries;
    if (f.code == "AUTH_FAILED" && f.credential && may_retry && config_.token_per_attempt) {
      phase_ = phase::connecting;  // a refusal after the upgrade comes in the handshake phase
      refused_ = std::move(f);
      awaiting_token_ = true;
      push_token_request(true);
      return;
    }
    end_attempt(std::move(f));
  }

  // The attempt (or the connection) is over: schedule the next attempt or finish.
  void end_attempt(failure f, std::uint16_t code = 1006, std::string reason = {}) {
    teardown_transport();
    awaiting_token_ = false;
    const bool retry = config_.reconnect.enabled && !f.terminal && backoff_.may_retry(retries_);
    if (!retry) return finish(&f, code, reason);
    const std::uint32_t attempt = ++retries_;
    double delay = backoff_.delay_for(attempt);
    if (f.retry_after > delay) delay = f.retry_after;
    if (f.code.empty()) delay = 0;  // a planned reconnect (refresh)
    push_close(code, reason, true, attempt, delay, &f);
    phase_ = phase::backoff;
    retry_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double, std::milli>(delay)));
    retry_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->phase_ != phase::backoff) return;
      self->begin_attempt();
    });
  }

  // --- open connection -------------------------------------------------------------------

  bool reading_phase() const noexcept { return phase_ == phase::open || phase_ == phase::handshake; }

  // The upgrade succeeded: the protocol's post-upgrade exchange (if any) runs before the open.
  void on_upgraded() {
    if (proto_->on_upgraded()) return on_open();
    phase_ = phase::handshake;
    read();
  }

  // The socket ended during the post-upgrade exchange: a refused credential or a network failure.
  void fail_handshake(failure f) {
    const std::uint16_t code = transport_ ? transport_->close_code() : 0;
    if (proto_->refused_by_close(code)) {
      return refuse_credential("the server closed the connection with code " + std::to_string(code) +
                               " before it was ready");
    }
    f.message = "before the server was ready: " + f.message;
    fail_attempt(std::move(f));
  }

  void on_open() {
    connect_timer_.cancel();
    phase_ = phase::open;
    was_open_ = true;
    arm_healthy();
    if (opened_once_) bump(reconnects_);
    opened_once_ = true;
    push_state("connected");
    credential_refusals_ = 0;
    const std::vector<std::string> patterns = proto_->on_open();
    std::string json = "{\"type\":\"open\",\"resubscribed\":";
    append_json_string_array(json, patterns);
    json += ",\"dialect\":";
    proto_->append_name(json);
    json += '}';
    push_control(json);
    proto_->after_open();
    if (config_.heartbeat_interval_ms) arm_ping();
    if (!reading_) read();
  }

  void read() {
    reading_ = true;
    transport_->read();
  }

  // The attempt count starts over once the connection has stayed open for reset_after_ms, not
  // at the upgrade: against a server that upgrades and drops, the delays keep growing instead
  // of the whole fleet coming back every initialDelay.
  void arm_healthy() {
    if (config_.reconnect.reset_after_ms <= 0) {
      retries_ = 0;
      return;
    }
    healthy_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double, std::milli>(config_.reconnect.reset_after_ms)));
    healthy_timer_.async_wait([self = shared_from_this(), generation = generation_](error_code ec) {
      if (ec || generation != self->generation_ || self->phase_ != phase::open) return;
      self->retries_ = 0;
    });
  }

  void on_frame(const char* data, std::size_t size, bool text) {
    if (!text) {
      return push_fault("PROTOCOL_ERROR", "unexpected binary frame of " + std::to_string(size) + " bytes");
    }
    proto_->on_frame(data, size, size + ws::message_reader::kPadding);
    // A frame this large (the answer to a bulk subscribe) grew the parsers and the decoded
    // topic list to many times its size. Once the handlers queued so far have run, nothing
    // refers to it: those buffers go back, then the free pages.
    if (size >= kBulkAnswerBytes) {
      asio::post(strand_, [self = shared_from_this()] {
        self->proto_->release_memory();
        release_free_memory();
      });
    }
  }

  // --- protocol_host: io thread, called by proto_ ----------------------------------------

  void send_text(std::string text) override { enqueue(write_kind::text, std::move(text)); }
  void count_received() override { bump(received_); }
  void count_filtered() override { bump(filtered_); }
  void count_duplicate() override { bump(duplicates_); }
  std::shared_ptr<void> keep_alive() override { return shared_from_this(); }

  void flush_events() override {
    stamp_last_event();
    queue_.publish();
  }

  void push_event(std::string_view event_type, std::string_view topic, std::string_view timestamp,
                  std::string_view data, std::string_view server_event_type,
                  std::string_view second_topic) override {
    bump(pushed_);
    // The clock is read for the first event of a burst, every 256 events within a long one, and
    // when the burst ends.
    if (unstamped_++ == 0 || unstamped_ == 256) stamp_last_event(true);
    flush_fault();
    if (!queue_.stage_event(event_type, topic, timestamp, data, server_event_type, second_topic)) {
      pause();
    }
  }

  void malformed(std::string reason) override {
    bump(malformed_);
    push_fault("MALFORMED_EVENT", reason);
  }

  void unknown(std::string reason) override {
    bump(malformed_);
    std::string json = "{\"type\":\"warning\",\"message\":";
    append_json_string(json, "ignored " + reason);
    json += '}';
    // Made for a frame from the server, so bounded like the other records it causes.
    flush_fault();
    if (!queue_.push_control(json)) pause();
  }

  void ready() override {
    if (phase_ == phase::handshake) on_open();
  }

  void refuse_credential(std::string message) override {
    if (phase_ != phase::handshake) return;
    failure f{"AUTH_FAILED", std::move(message), 0, -1, true, true};
    fail_attempt(std::move(f));
  }

  failure classify_read_error(const error_code& ec) const {
    namespace websocket = boost::beast::websocket;
    if (ec == websocket::error::message_too_big) {
      return {"PAYLOAD_TOO_LARGE",
              "a message exceeded maxPayload (" + std::to_string(config_.max_payload) + " bytes)"};
    }
    // The frame reader reports every broken framing rule (masked or reserved frames, bad close
    // codes, ...) in the WebSocket error category.
    if (ec != websocket::error::closed && ec.category() == websocket::make_error_code(websocket::error::closed).category()) {
      return {"PROTOCOL_ERROR", "the server broke the WebSocket protocol: " + ec.message()};
    }
    if (ec == websocket::error::closed) {
      std::string message = "the server closed the connection with code " + std::to_string(transport_->close_code());
      const std::string reason = transport_->close_reason();
      if (!reason.empty()) message += " (" + reason + ")";
      return {"CLOSED", std::move(message)};
    }
    if (ec == boost::system::errc::not_enough_memory) {
      return {"CLOSED",
              "out of memory: no buffer could be allocated for a message from the server; the connection was dropped"};
    }
    return {"CLOSED", "connection lost: " + ec.message()};
  }

  // An open connection ended without close() being called.
  void lose_connection(failure f) {
    // The live server refuses a topic with a bare TCP close; a close frame is something else.
    f.reported = proto_->on_lost(f.code == "CLOSED" && !(transport_ && transport_->close_code()));
    std::uint16_t code = f.code == "PAYLOAD_TOO_LARGE" ? 1009 : f.code == "PROTOCOL_ERROR" ? 1002 : 1006;
    std::string reason;
    if (transport_ && transport_->close_code()) {
      code = transport_->close_code();
      reason = transport_->close_reason();
    }
    end_attempt(std::move(f), code, std::move(reason));
  }

  // An ack or error for JS, from the server or made by the dialect. One that lists many topics
  // ends a bulk subscribe or unsubscribe, whose transient copies (the message, the `sent`
  // record, the dialect's bookkeeping) are freed by now: their pages go back once the handlers
  // queued before it have run.
  void push_server(std::string_view json) override {
    flush_fault();
    if (!queue_.push_server(json)) pause();
    if (json.size() >= kBulkAnswerBytes) asio::post(strand_, [] { release_free_memory(); });
  }

  // Every record for JS goes through here or push_server, so that a coalesced fault goes first
  // and records keep their order. The client's own records (state, open, close, sent) follow
  // its own actions, so they are bounded by those and do not stop the reads.
  void push_control(std::string_view json) override {
    flush_fault();
    queue_.push_control(json);
  }

  void pause() noexcept {
    paused_ = true;
    paused_since_ping_ = true;
  }

  static constexpr std::size_t kBulkAnswerBytes = 1u << 20;

  void do_subscribe(std::vector<std::string> patterns) {
    if (phase_ == phase::finished || phase_ == phase::closing || patterns.empty()) return;
    proto_->subscribe(std::move(patterns), phase_ == phase::open);
  }

  void do_unsubscribe(std::vector<std::string> patterns) {
    if (phase_ == phase::finished || phase_ == phase::closing || patterns.empty()) return;
    proto_->unsubscribe(std::move(patterns), phase_ == phase::open);
  }

  // One outstanding write at a time (pings and the close frame included): a FIFO.
  void enqueue(write_kind kind, std::string text = {}) {
    writes_.push_back({kind, std::move(text)});
    if (!write_in_flight_) write_next();
  }

  void write_next() {
    if (writes_.empty() || !transport_) return;
    write_in_flight_ = true;
    auto& next = writes_.front();
    switch (next.kind) {
      case write_kind::text:
        return transport_->write_text(next.text);
      case write_kind::ping:
        return transport_->ping();
      case write_kind::close:
        // Completes through on_transport_closed; nothing is written after it.
        return transport_->close();
    }
  }

  // --- heartbeat -------------------------------------------------------------------------

  void alive() noexcept { awaiting_pong_ = false; }

  void arm_ping() {
    ping_timer_.expires_after(std::chrono::milliseconds(config_.heartbeat_interval_ms));
    ping_timer_.async_wait([self = shared_from_this(), generation = generation_](error_code ec) {
      if (ec || generation != self->generation_ || self->phase_ != phase::open) return;
      self->on_ping_timer();
    });
  }

  // Each tick opens a liveness window (any frame closes it). A ping goes out only when the
  // previous one was answered and reading is not paused: a pong waits behind unread frames,
  // and servers drop clients whose pongs pile up (the ws server's maxPendingAutoPongs).
  void on_ping_timer() {
    if (write_stalled()) {
      return lose_connection({"HEARTBEAT_TIMEOUT", "the server read nothing of what was sent for " +
                                                       std::to_string(config_.heartbeat_interval_ms) + " ms"});
    }
    if (!awaiting_pong_ && !paused_) {
      awaiting_pong_ = true;
      paused_since_ping_ = false;
      if (!ping_outstanding_) {
        ping_outstanding_ = true;
        enqueue(write_kind::ping);
      }
      arm_pong_deadline();
    }
    arm_ping();
  }

  // True when the same write has been waiting since the previous tick: the peer stopped reading
  // (its pings may still arrive, so incoming frames cannot tell).
  bool write_stalled() {
    if (!transport_) return false;
    const bool waiting = transport_->write_waiting();
    const std::uint64_t written = transport_->frames_written();
    const bool stalled = waiting && stall_waiting_ && written == stall_written_;
    stall_waiting_ = waiting;
    stall_written_ = written;
    return stalled;
  }

  void arm_pong_deadline() {
    pong_timer_.expires_after(std::chrono::milliseconds(config_.heartbeat_timeout_ms));
    pong_timer_.async_wait([self = shared_from_this(), generation = generation_](error_code ec) {
      if (ec || generation != self->generation_ || self->phase_ != phase::open) return;
      self->on_pong_deadline();
    });
  }

  void on_pong_deadline() {
    if (!awaiting_pong_) return;
    // A window in which reading was paused proves nothing (the pong may be among the unread
    // frames): the peer gets another full window of actual reading.
    if (paused_ || paused_since_ping_) {
      paused_since_ping_ = paused_;
      return arm_pong_deadline();
    }
    lose_connection({"HEARTBEAT_TIMEOUT", "no pong or frame within " + std::to_string(config_.heartbeat_timeout_ms) +
                                              " ms of a ping"});
  }

  // --- closing ---------------------------------------------------------------------------

  void do_close() {
    switch (phase_) {
      case phase::finished:
      case phase::closing:
        return;
      case phase::open:
        phase_ = phase::closing;
        ping_timer_.cancel();
        pong_timer_.cancel();
        enqueue(write_kind::close);
        // The peer gets a bounded time to answer the close frame; then the socket is cut.
        close_timer_.expires_after(std::chrono::seconds(1));
        close_timer_.async_wait([self = shared_from_this()](error_code ec) {
          if (ec || self->phase_ != phase::closing) return;
          self->finish(nullptr, 1000);
        });
        return;
      case phase::idle:
      case phase::connecting:
      case phase::handshake:
      case phase::backoff:
        return finish(nullptr, 1000);
    }
  }

  // The final close record: after it nothing else is pushed.
  void finish(const failure* f, std::uint16_t code, const std::string& reason = {}) {
    const bool was_open = was_open_;
    teardown_transport();
    retry_timer_.cancel();
    close_timer_.cancel();
    phase_ = phase::finished;
    awaiting_token_ = false;
    refused_.reset();
    push_close(code, reason, false, 0, 0, f, was_open);
  }

  void teardown_transport() {
    ++generation_;
    proto_->on_teardown();
    connect_timer_.cancel();
    ping_timer_.cancel();
    pong_timer_.cancel();
    healthy_timer_.cancel();
    resolver_.cancel();
    if (transport_) {
      transport_->cut();
      transport_.reset();
    }
    writes_.clear();
    write_in_flight_ = false;
    reading_ = false;
    paused_ = false;
    awaiting_pong_ = false;
    ping_outstanding_ = false;
    stall_waiting_ = false;
    stall_written_ = 0;
  }

  // `within_burst`: more events of the same burst may follow without another stamp.
  void stamp_last_event(bool within_burst = false) noexcept {
    if (!within_burst && unstamped_ <= 1) {
      // Nothing arrived since the stamp of the burst's first event.
      unstamped_ = 0;
      return;
    }
    unstamped_ = within_burst ? 1 : 0;
    last_event_at_.store(
        std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count(),
        std::memory_order_relaxed);
  }

  // --- control records -------------------------------------------------------------------

  void push_state(const char* state) {
    std::string json = "{\"type\":\"state\",\"state\":\"";
    json += state;
    json += "\"}";
    push_control(json);
  }

  void push_token_request(bool refused) {
    push_control(refused ? "{\"type\":\"token_request\",\"refused\":true}"
                                : "{\"type\":\"token_request\",\"refused\":false}");
  }

  // Repeats of one fault (the same code, back to back) become one record: the first one's
  // message and how many there were. A server sending nothing but bad frames then costs JS one
  // record per burst (or per kFaultsPerRecord), not one per frame.
  void push_fault(const char* code, std::string message) {
    if (fault_.count && fault_.code == code) {
      if (++fault_.count == kFaultsPerRecord) flush_fault();
      return;
    }
    flush_fault();
    fault_ = {code, std::move(message), 1};
  }

  void flush_fault() {
    if (!fault_.count) return;
    failure f{fault_.code, fault_.message};
    f.count = fault_.count;
    if (fault_.count > 1) f.message += " (" + std::to_string(fault_.count) + " times)";
    std::string json = "{\"type\":\"fault\",\"error\":";
    append_error(json, f);
    json += '}';
    fault_.count = 0;
    if (!queue_.push_control(json)) pause();
  }

  static constexpr std::uint64_t kFaultsPerRecord = 4096;

  void push_close(std::uint16_t code, const std::string& reason, bool will_reconnect, std::uint32_t attempt,
                  double delay, const failure* f) {
    push_close(code, reason, will_reconnect, attempt, delay, f, was_open_);
  }

  void push_close(std::uint16_t code, const std::string& reason, bool will_reconnect, std::uint32_t attempt,
                  double delay, const failure* f, bool was_open) {
    std::string json = "{\"type\":\"close\",\"code\":";
    append_number(json, code);
    json += ",\"reason\":";
    append_json_string(json, reason);
    json += was_open ? ",\"wasOpen\":true" : ",\"wasOpen\":false";
    json += will_reconnect ? ",\"willReconnect\":true" : ",\"willReconnect\":false,\"final\":true";
    json += ",\"attempt\":";
    append_number(json, attempt);
    json += ",\"delay\":";
    append_number(json, delay);
    json += ",\"error\":";
    if (f && !f->code.empty()) {
      append_error(json, *f);
    } else {
      json += "null";
    }
    json += '}';
    push_control(json);
  }

  client_config config_;
  detail::strand_type strand_;
  tcp::resolver resolver_;
  asio::steady_timer connect_timer_;
  asio::steady_timer retry_timer_;
  asio::steady_timer ping_timer_;
  asio::steady_timer pong_timer_;
  asio::steady_timer close_timer_;
  asio::steady_timer healthy_timer_;
  event_queue queue_;
  topic_matcher matcher_;
  backoff backoff_;
  std::unique_ptr<protocol> proto_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::shared_ptr<detail::transport> transport_;
  std::uint64_t generation_ = 0;
  phase phase_ = phase::idle;
  std::deque<outgoing> writes_;
  std::optional<failure> refused_;  // the 401/403 a per-attempt token may still fix
  std::uint32_t retries_ = 0;       // attempts scheduled since the last healthy connection
  struct {
    std::string code;
    std::string message;  // the first one's
    std::uint64_t count = 0;
  } fault_;                         // repeats of one fault, not yet pushed
  std::uint64_t stall_written_ = 0; // transport's frames_written() at the last ping tick
  bool stall_waiting_ = false;      // a write was waiting at the last ping tick
  static constexpr std::uint32_t kCredentialTries = 3;
  std::uint32_t credential_refusals_ = 0;  // credentials refused after the upgrade, in a row
  bool write_in_flight_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool awaiting_pong_ = false;
  bool paused_since_ping_ = false;
  bool ping_outstanding_ = false;
  bool awaiting_token_ = false;
  bool was_open_ = false;
  bool opened_once_ = false;

  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> filtered_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  std::atomic<std::uint64_t> pushed_{0};
  std::atomic<std::uint64_t> malformed_{0};
  std::atomic<std::uint64_t> bytes_received_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<double> last_event_at_{0};
  std::uint32_t unstamped_ = 0;  // events of this burst; 1 = only its stamped first one
};

}  // namespace

std::shared_ptr<client> client::create(io_runtime& runtime, client_config config, std::function<void()> wake) {
  return std::make_shared<client_impl>(runtime, std::move(config), std::move(wake));
}

}  // namespace vr
