// Internal to the emulator: the state every session shares, the session base class and the
// helpers the transports call. Included by the emulator's .cpp files only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <simdjson.h>

#include "core/topic.h"
#include "core/ws_frame.h"
#include "emulator/emulator.h"
#include "emulator/natterbox.h"

namespace vr::emu::detail {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;

struct principal {
  std::string customer_id;  // lower case
  std::string agent_id;     // lower case; empty for access keys and tokens without an agent
  bool admin = false;
  bool manager = false;
  bool access_key = false;
  bool natterbox_messages = false;  // a Natterbox messages socket (its token was checked at the upgrade)
  const char* token_in = nullptr;   // messages socket: where the accepted token was, "query" or "header"
};

// A published event encoded once, WebSocket frame header included, shared by every connection.
struct publication {
  struct route {
    std::string topic;
    std::shared_ptr<const std::string> wire;
  };
  // documented: concrete topics, the first one a connection's patterns match is delivered once;
  // live: every route whose topic starts with one of a connection's prefixes delivers a copy.
  std::vector<route> routes;
};

struct blast_plan;
class session_base;

// Everything sessions share. Owned jointly by the emulator and its sessions; holds no
// io_context, so sessions kept alive by pending handlers never keep the loop alive.
struct server_state {
  explicit server_state(options o, emulator::notify_fn n) : opts(std::move(o)), notify(std::move(n)) {}

  const options opts;
  const emulator::notify_fn notify;

  std::atomic<std::uint64_t> connections{0}, connections_total{0}, upgrades_refused{0},
      subscriptions{0}, messages_received{0}, bytes_received{0}, events_published{0},
      events_sent{0}, events_dropped{0}, bytes_sent{0}, pings_sent{0}, pongs_received{0},
      timeouts{0}, errors_sent{0}, acks_sent{0};
  std::atomic<std::uint64_t> next_session_id{1};

  std::atomic<bool> no_pong{false};
  std::atomic<bool> stall{false};
  std::atomic<std::uint32_t> refuse_status{0};
  std::atomic<std::uint32_t> refuse_retry_after{0};

  std::mutex sessions_mu;
  std::unordered_map<std::uint64_t, std::shared_ptr<session_base>> sessions;
  bool stopping = false;        // guarded by sessions_mu
  bool stopped_notified = false;  // guarded by sessions_mu
  bool listener_closed = false;   // guarded by sessions_mu

  std::mutex auth_mu;
  std::unordered_map<std::string, std::string> access_keys;  // key -> customer id
  std::unordered_set<std::string> frozen;
  std::deque<clock::time_point> upgrade_times;

  natterbox_world natterbox;

  std::atomic<bool> blast_running{false};
  std::mutex blast_mu;
  blast_report last_blast;

  // CPU accounting of the io threads: live threads by clock id, finished ones summed.
  std::mutex cpu_mu;
  std::vector<clockid_t> cpu_clocks;
  double cpu_finished_ms = 0;
  double cpu_ms();

  std::vector<std::shared_ptr<session_base>> all_sessions();
  bool add_session(std::shared_ptr<session_base> s);  // false once stopping
  void remove_session(std::uint64_t id);
  void maybe_stopped();  // notifies {"type":"stopped"} once listener and sessions are gone
};

// A paced blast's events carry `"sent":<value>` in their data: the value is a fixed-width field
// (right-aligned, space-padded, valid JSON before and after) that each send overwrites with the
// steady clock in ms. The placeholder is found in each encoded frame by this exact text.
constexpr std::string_view sent_slot_key = "\"sent\":";
constexpr std::size_t sent_slot_width = 20;
inline std::string sent_slot_placeholder() {
  std::string s(sent_slot_key);
  s.append(sent_slot_width - 1, ' ');
  s += '0';
  return s;
}

// Event `i` of a Natterbox blast (natterbox.cpp): user i + 1 of the configured organisation in
// a `response` frame of `payload` bytes, routed to that user and to every group holding them.
std::shared_ptr<const publication> natterbox_blast_event(server_state& state, std::uint32_t i, std::size_t payload);

struct blast_plan {
  std::uint64_t id = 0;
  std::uint64_t count = 0;
  bool unfiltered = false;
  double rate = 0;  // events/s per connection, 0 = unpaced; paced frames carry a `sent` slot
  std::vector<std::shared_ptr<const publication>> pool;
  std::shared_ptr<server_state> state;
  std::atomic<std::int64_t> pending{0};
  std::atomic<std::uint64_t> connections{0}, events{0}, bytes{0};
  clock::time_point start;
  double cpu_start = 0;

  // Any io thread (or the JS thread when no session takes part): the last one reports.
  void done();
};

// ---- wire helpers (auth.cpp) ----

// Frames come from the shared framing code (ws_frame.h); the emulator sends unmasked frames.
using ws::encode_frame;
std::string base64url_decode(std::string_view in, bool& ok);

struct upgrade_request {
  std::string_view target;
  std::string_view cookie;
  std::string_view authorization;  // the Authorization header, as sent
  bool websocket = false;
};

struct upgrade_decision {
  unsigned status = 101;  // 101 = upgrade; anything else is sent as is
  std::string body;
  std::uint32_t retry_after_s = 0;
  principal who;
};

upgrade_decision decide_upgrade(server_state& st, const upgrade_request& req);

// Exposed for tests of the token format: verifies signature, algorithm and expiry.
enum class token_status { ok, invalid, expired };
token_status verify_jwt(std::string_view token, std::string_view secret, principal& who, bool& delegate);

// ---- sessions (session.cpp) ----

// Natterbox: a connection that sent no `auth` this long after the upgrade is closed with 4001.
constexpr std::uint32_t kNatterboxAuthMs = 10000;

// The live dialect's subscriptions: plain string prefixes. A topic costs one hash probe per
// distinct prefix length (a handful, bounded by the topic's length), never one comparison per
// prefix, so routing stays flat however many prefixes a connection holds.
class prefix_set {
 public:
  bool add(std::string_view prefix);     // true when the set changed
  bool remove(std::string_view prefix);  // true when the set changed
  bool matches(std::string_view topic) const;
  std::size_t size() const noexcept { return prefixes_.size(); }

 private:
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  std::unordered_set<std::string, hash, eq> prefixes_;
  std::map<std::size_t, std::uint32_t> lengths_;  // prefix length -> prefixes of that length
};

class session_base : public std::enable_shared_from_this<session_base> {
 public:
  session_base(std::shared_ptr<server_state> st, asio::any_io_executor ex);
  virtual ~session_base();

  std::uint64_t id() const noexcept { return id_; }

  // Any thread: each posts to the session's strand.
  void deliver(std::shared_ptr<const publication> pub);
  void inject(fault_kind kind, fault_args args);
  void resume();
  void start_blast(std::shared_ptr<blast_plan> plan);
  void close(bool abrupt, std::uint16_t code);

 protected:
  // Strand: the upgrade was accepted and its 101 is about to be written. False (socket closed)
  // when the server is stopping.
  bool upgrading(principal who);
  // Strand: the 101 was written (or failed with `ec`); `leftover` are bytes read past the request.
  void opened(const error_code& ec, std::string_view leftover);
  void on_read(const error_code& ec, std::size_t n);
  void on_write(const error_code& ec, std::size_t n);

  virtual void do_read(asio::mutable_buffer into) = 0;
  virtual void do_write(const std::vector<asio::const_buffer>& bufs) = 0;
  virtual void close_socket() = 0;

  std::shared_ptr<server_state> state_;
  asio::any_io_executor ex_;

 private:
  enum class item_kind : std::uint8_t { event, control, ping, blast, close };
  struct out_item {
    std::shared_ptr<const std::string> bytes;
    item_kind kind;
    std::uint32_t events = 1;  // blast: the frames in bytes (a whole cycle of the pool is one item)
  };

  void read_next();
  void process_input();
  bool handle_frame(std::uint8_t opcode, bool fin, std::string_view payload);
  void handle_text(std::string_view text);
  void handle_documented(std::string_view text);
  void handle_live(std::string_view text);
  void handle_natterbox(std::string_view text);  // natterbox.cpp
  void handle_natterbox_messages(std::string_view text);  // natterbox.cpp
  void natterbox_refuse(std::string_view message, std::uint16_t code);
  void send_control(std::string bytes);
  void send_json(std::string json);
  void send_error(std::string_view action, const std::vector<std::string>& topics,
                  std::string_view code, std::string_view message);
  void send_ack(std::string_view action, const std::vector<std::string>& topics);
  void enqueue_event(const std::shared_ptr<const std::string>& wire);
  // `keep_queued`: frames queued before the close still go out (an error, then the close).
  void begin_close(std::uint16_t code, bool keep_queued = false);
  void write_next();
  void pump_blast();
  void arm_pace();
  void finish_blast();
  void arm_tick();
  void on_tick(const error_code& ec);
  void close_transport(std::string_view reason);
  void notify_topics(std::string_view type, const std::vector<std::string>& topics);
  bool allowed_documented(std::string_view pattern) const;
  bool allowed_live(std::string_view topic) const;
  std::size_t apply_live(bool subscribe, const std::vector<std::string>& topics);

  const std::uint64_t id_;
  principal who_;
  bool open_ = false;
  bool closed_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool reading_ = false;
  bool read_paused_ = false;
  bool writing_ = false;
  bool ping_queued_ = false;

  std::vector<char> rbuf_;
  std::size_t rbegin_ = 0;
  std::size_t rend_ = 0;
  std::string message_;
  std::uint8_t message_op_ = 0;
  bool in_message_ = false;

  std::deque<out_item> out_;
  std::size_t inflight_ = 0;
  std::size_t events_queued_ = 0;
  std::vector<asio::const_buffer> wbufs_;

  vr::topic_matcher patterns_;             // documented
  prefix_set prefixes_;                    // live
  std::set<std::string> nb_subs_;          // natterbox: subscribed user/group topics
  bool nb_authed_ = false;                 // natterbox: `auth` accepted
  clock::time_point nb_opened_;            // natterbox: when the socket opened (auth deadline)
  std::deque<clock::time_point> sub_times_;  // documented rate limit window
  clock::time_point last_alive_;
  clock::time_point last_ping_;
  asio::steady_timer tick_;
  asio::steady_timer close_timer_;

  std::shared_ptr<blast_plan> blast_;
  std::vector<std::shared_ptr<const std::string>> blast_frames_;
  // Unpaced blast: every frame of the pool back to back, written as one piece per cycle, so that
  // a write carries hundreds of frames in a few buffers (null when the pool is too large).
  std::shared_ptr<const std::string> blast_cycle_;
  std::size_t blast_pos_ = 0;
  std::uint64_t blast_left_ = 0;
  std::size_t blast_queued_ = 0;
  std::uint64_t blast_events_ = 0;
  std::uint64_t blast_bytes_ = 0;
  // Paced blast (blast_->rate > 0): frames are released on schedule from blast_start_, each
  // copied and stamped.
  clock::time_point blast_start_;
  std::uint64_t blast_released_ = 0;
  std::vector<std::size_t> blast_stamp_at_;  // per frame: offset of its `sent` slot
  asio::steady_timer pace_timer_;
  bool pace_armed_ = false;

  simdjson::dom::parser parser_;
};

void launch_plain(std::shared_ptr<server_state> st, asio::ip::tcp::socket socket);
void launch_tls(std::shared_ptr<server_state> st, asio::ip::tcp::socket socket, asio::ssl::context& ctx);

}  // namespace vr::emu::detail
