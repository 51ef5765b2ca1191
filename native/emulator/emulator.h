// The local stand-in for VoIPBIN's real-time endpoint: a WebSocket server on its own io_context
// and threads, speaking either the documented or the live dialect (docs/protocol-voipbin.md).
//
// Beast and Asio stay out of this header; the implementation is split over server.cpp (listener,
// registry, publishing), session.cpp (framing, queues, protocol rules), session_tls.cpp and
// session_plain.cpp (the two transports) and auth.cpp (JWT, access keys, upgrade decisions).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vr::emu {

enum class wire_dialect { documented, live, natterbox };

// The Natterbox CTI socket (wire_dialect::natterbox; docs/protocol-natterbox.md).
struct natterbox_options {
  std::string org = "1";            // the organisation every token belongs to
  std::vector<std::string> tokens;  // accepted tokens; empty = any (an expired JWT is still refused)
  bool strict = false;              // also require a known client.name
  bool per_member_snapshot = false; // a group snapshot as one frame per member instead of one frame
  // Messages socket (path /messages, `?token=` checked at the upgrade): answer a subscribe by
  // echoing its clientRequestId (the default) or not at all (clients then wait their settle time).
  bool silent_messages = false;
};

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  wire_dialect dialect = wire_dialect::documented;
  std::string secret;    // HS256 key for JWTs (raw bytes)
  std::string tls_cert;  // PEM; both set = wss
  std::string tls_key;
  std::uint32_t ping_interval_ms = 10000;  // 0 = no pings
  std::uint32_t read_timeout_ms = 60000;   // no pong (live) / no frame (documented) for this long: drop; 0 = never
  std::uint32_t rate_limit = 20;           // documented: subscribe/unsubscribe messages per second; 0 = off
  std::uint32_t upgrade_rate_limit = 0;    // upgrades per second over all clients (429); 0 = off
  std::uint32_t retry_after_s = 1;         // Retry-After of that 429
  std::size_t buffer_size = 2000;          // events queued per connection before silent drops
  bool live_wrapper = false;               // live: the pre-2026-07 {"type","data"} frames
  std::uint64_t max_message = 64ull * 1024 * 1024;  // client message size before the socket is cut
  unsigned threads = 1;
  natterbox_options natterbox;
};

// One published event, as JS hands it over (strings already extracted from `data`).
struct event_input {
  std::string event_type;
  std::string timestamp;
  std::string topic;  // empty = derived from customer_id / resource / id
  std::string data;   // JSON text of the resource
  std::string customer_id;
  std::string id;
  std::string owner_type;
  std::string owner_id;
};

struct blast_options {
  std::uint64_t count = 100000;  // frames per receiving connection
  // Bytes of each event frame on the wire, WebSocket header included. Optional data fields are
  // left out and padding added to reach it; a frame is never smaller than its required fields.
  std::size_t size = 300;
  bool unfiltered = false;  // every open connection gets the whole pool, whatever it subscribed
  std::string customer_id;
  std::string owner_id;                  // when set, calls are owned by this agent (agent routes)
  std::vector<std::string> resources;   // cycled over the pool; default {"call"}
  std::uint32_t ids = 64;               // distinct events in the pre-serialized pool
  // Events per second per connection; 0 = as fast as the socket takes them. When paced, each
  // event's data carries `sent`: the steady clock (CLOCK_MONOTONIC) in ms, written into the
  // pre-encoded frame just before the write that sends it.
  double rate = 0;
};

enum class fault_kind {
  no_pong,    // toggle: client pings get no pong
  stall,      // toggle: stop reading and writing (queues fill, then drop)
  malformed,  // one shot: a text frame that is not JSON (or `text`)
  binary,     // one shot: a binary frame
  oversized,  // one shot: a valid event frame of `size` bytes
  drop,       // one shot: close every socket without a close frame
  refuse,     // toggle: answer every upgrade with `status` (and Retry-After when set)
};

struct fault_args {
  bool enabled = true;
  std::string text;
  std::uint64_t size = 0;
  std::uint32_t status = 0;
  std::uint32_t retry_after_s = 0;
};

struct blast_report {
  std::uint64_t connections = 0;
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  double wall_ms = 0;
  double cpu_ms = 0;
};

struct stats {
  std::uint64_t connections = 0;  // open WebSocket connections now
  std::uint64_t connections_total = 0;
  std::uint64_t upgrades_refused = 0;
  std::uint64_t subscriptions = 0;  // active patterns summed over connections
  std::uint64_t messages_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t events_published = 0;
  std::uint64_t events_sent = 0;
  std::uint64_t events_dropped = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t pings_sent = 0;
  std::uint64_t pongs_received = 0;
  std::uint64_t timeouts = 0;  // connections dropped by the read deadline
  std::uint64_t errors_sent = 0;
  std::uint64_t acks_sent = 0;
  double cpu_ms = 0;  // CPU time of the emulator's io threads
  bool blast_running = false;
  blast_report last_blast;
};

namespace detail {
struct server_state;
struct engine;
}  // namespace detail

class emulator {
 public:
  // `notify` receives small JSON records (connection, subscribe, unsubscribe, close, blast,
  // stopped); it is called on the emulator's io threads and must not block.
  using notify_fn = std::function<void(std::string)>;

  emulator(options opts, notify_fn notify);
  ~emulator();  // hard stop: join()
  emulator(const emulator&) = delete;
  emulator& operator=(const emulator&) = delete;

  // Binds, listens and starts the io threads. Throws std::runtime_error with a readable message.
  void start();
  std::uint16_t port() const noexcept { return port_; }
  bool secure() const noexcept;

  // Any thread. Throws std::invalid_argument when the event cannot be routed.
  void publish(const event_input& ev);
  void add_access_key(std::string key, std::string customer_id);
  // Natterbox: stores a user's whole presence element (the next snapshots) and pushes `push_json`
  // as a `response` to every session subscribed to the user or to a group holding the user.
  void natterbox_presence(const std::string& org, const std::string& user, std::string state_json,
                          const std::string& push_json);
  void natterbox_group(const std::string& org, const std::string& group, std::vector<std::string> users);
  // Natterbox: pushes `push_json` (an INSERT/MODIFY/REMOVE frame) to every messages socket
  // subscribed to the user.
  void natterbox_messages(const std::string& org, const std::string& user, const std::string& push_json);
  void set_frozen(std::string customer_id, bool frozen);
  void fault(fault_kind kind, const fault_args& args);
  void clear_faults();
  void disconnect_all(bool abrupt, std::uint16_t code);
  // Returns the blast id; its report arrives as a {"type":"blast"} record.
  std::uint64_t blast(const blast_options& opts);
  stats snapshot() const;

  // Graceful: stop accepting, close every connection (a close frame in the documented dialect,
  // a bare TCP close in the live one), then notify {"type":"stopped"}. Idempotent.
  void shutdown(std::uint32_t grace_ms);
  // Stops the loop and joins the threads. Idempotent; never call from an io thread.
  void join();

 private:
  std::shared_ptr<detail::server_state> state_;
  std::unique_ptr<detail::engine> engine_;  // io_context, acceptor, TLS context, threads
  std::uint16_t port_ = 0;
};

}  // namespace vr::emu
