// The connection state machine behind vr::client (client.h), shared by the files that implement
// it: client.cpp (the public calls, the transport's callbacks and the path every frame takes),
// client_lifecycle.cpp (attempts, the open connection, heartbeat, closing) and client_records.cpp
// (why a connection ended, and the records that tell JS). Everything runs on the client's strand
// (io thread) unless a comment says otherwise; the public methods only post to it.
//
// Phases: idle -> connecting (token wait, resolve, TCP, TLS, upgrade) -> handshake (the
// protocol's post-upgrade exchange, if it has one) -> open -> closing -> finished, with `backoff`
// between a lost connection or failed attempt and the next attempt. Every transport is tied to a
// generation number so completions of an abandoned attempt are ignored.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "core/backoff.h"
#include "core/client.h"
#include "core/event_queue.h"
#include "core/protocol.h"
#include "core/topic.h"
#include "core/transport.h"

namespace vr::client_detail {

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

// The JSON of a failure, as close and fault records carry it (client_records.cpp).
void append_number(std::string& out, double v);
void append_error(std::string& out, const failure& f);
// Retry-After in ms (delay-seconds or an HTTP-date), or -1.
double parse_retry_after(const std::string& value);
std::string host_header(const client_config& c);
bool is_terminal_code(std::string_view code);

// Counters read by stats() on the JS thread and written only on the io thread: a plain load and
// store is enough (and costs no locked instruction per frame). `order` orders the store after
// what the io thread wrote before it, for a counter stats() reads with acquire.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1,
                 std::memory_order order = std::memory_order_relaxed) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, order);
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
  void subscribe(std::vector<std::string> patterns) override;
  void unsubscribe(std::vector<std::string> patterns) override;
  void drop(std::vector<std::string> patterns) override;
  void set_target(std::string target, std::string credential) override;
  void token_failed(std::string code, std::string message) override;

  // Any thread.
  void close() override { post([](client_impl& c) { c.do_close(); }); }
  void refresh() override;
  void resume_reading() override;

  event_queue& queue() noexcept override { return queue_; }
  // JS thread.
  client_stats stats() const override;

  // transport_listener: io thread (client.cpp).
  void on_transport_connected(std::uint64_t generation, error_code ec, connect_stage stage) override;
  bool on_transport_message(std::uint64_t generation, const char* data, std::size_t size, bool text) override;
  void on_transport_failed(std::uint64_t generation, error_code ec) override;
  void on_transport_written(std::uint64_t generation, error_code ec) override;
  void on_transport_closed(std::uint64_t generation, error_code) override;
  void on_transport_control(std::uint64_t generation, bool pong) override;
  void on_transport_starved(std::uint64_t generation) override;

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
  void on_exception(const std::exception& e) noexcept;

  // Attempts (client_lifecycle.cpp).
  void do_start();
  void begin_attempt();
  void do_set_target(std::string target, std::string credential);
  void do_token_failed(std::string code, std::string message);
  void resolve();
  void on_resolve(std::uint64_t generation, error_code ec, tcp::resolver::results_type results);
  void fail_attempt(failure f);
  void end_attempt(failure f, std::uint16_t code = 1006, std::string reason = {});

  // The open connection (client_lifecycle.cpp).
  bool reading_phase() const noexcept { return phase_ == phase::open || phase_ == phase::handshake; }
  void on_upgraded();
  void fail_handshake(failure f);
  void on_open();
  void read();
  void arm_healthy();
  void lose_connection(failure f);

  // Heartbeat (client_lifecycle.cpp).
  void alive() noexcept { awaiting_pong_ = false; }
  void arm_ping();
  void on_ping_timer();
  bool write_stalled();
  void arm_pong_deadline();
  void on_pong_deadline();

  // Closing (client_lifecycle.cpp).
  void do_close();
  void finish(const failure* f, std::uint16_t code, const std::string& reason = {});
  void teardown_transport();

  // Frames in, writes out (client.cpp).
  void on_frame(const char* data, std::size_t size, bool text);
  void do_subscribe(std::vector<std::string> patterns);
  void do_unsubscribe(std::vector<std::string> patterns);
  void enqueue(write_kind kind, std::string text = {});
  void write_next();
  void pause() noexcept {
    paused_ = true;
    paused_since_ping_ = true;
  }
  void stamp_last_event(bool within_burst = false) noexcept;
  void push_fault(const char* code, std::string message);
  void flush_fault();

  // protocol_host: io thread, called by proto_ (client.cpp).
  void send_text(std::string text) override { enqueue(write_kind::text, std::move(text)); }
  void count_received() override { bump(received_); }
  void count_filtered() override { bump(filtered_); }
  void count_duplicate() override { bump(duplicates_); }
  std::shared_ptr<void> keep_alive() override { return shared_from_this(); }
  void flush_events() override;
  void push_event(std::string_view event_type, std::string_view topic, std::string_view timestamp,
                  std::string_view data, std::string_view server_event_type,
                  std::string_view second_topic) override;
  void malformed(std::string reason) override;
  void unknown(std::string reason) override;
  void ready() override;
  void refuse_credential(std::string message) override;
  void push_server(std::string_view json) override;
  void push_control(std::string_view json) override;

  // Failures and the records that tell JS (client_records.cpp).
  failure classify_connect_error(const error_code& ec, connect_stage stage) const;
  failure classify_read_error(const error_code& ec) const;
  void push_state(const char* state);
  void push_token_request(bool refused);
  void push_close(std::uint16_t code, const std::string& reason, bool will_reconnect, std::uint32_t attempt,
                  double delay, const failure* f);
  void push_close(std::uint16_t code, const std::string& reason, bool will_reconnect, std::uint32_t attempt,
                  double delay, const failure* f, bool was_open);

  static constexpr std::size_t kBulkAnswerBytes = 1u << 20;
  static constexpr std::uint64_t kFaultsPerRecord = 4096;

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

}  // namespace vr::client_detail
