// The client connection: one per RealtimeClient, living on its own strand of an io_runtime.
// It owns the socket, the reconnect loop, the heartbeat, the set of active patterns (the
// matcher, which is also what is resent after every reconnect) and the event queue towards JS.
// Everything it reports goes through that queue (see event_queue.h and native/BINDING.md).
//
// Beast stays out of this header: the implementation is private to client_impl.h and its .cpp files.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/backoff.h"
#include "core/event_queue.h"
#include "core/runtime.h"

namespace vr {

enum class dialect { documented, live, automatic };

// Which protocol a connection speaks (core/protocol.h).
enum class protocol_kind { voipbin, natterbox_cti, natterbox_messages };

// Natterbox CTI settings (docs/protocol-natterbox.md); unused by VoIPBIN.
struct natterbox_config {
  std::string client_name = "CTI 2.0";  // `client.name` of the auth frame
  std::string client_version;
  bool seed_paths = false;                   // /org/O/user/U/presence instead of /organisation/O/user/U
  std::uint32_t snapshot_window_ms = 2000;   // longest wait for a subscribe's snapshot
};

struct tls_config {
  bool reject_unauthorized = true;
  std::vector<std::string> ca;  // PEM blocks; empty = system trust store
  std::string cert;             // PEM, optional client certificate
  std::string key;              // PEM
  std::string servername;       // SNI and verification name; empty = host
};

// The largest maxPayload accepted. A dense message costs the JSON parser about fifteen times
// its size while it is read, so this bounds what one frame can cost (about 1 GB).
inline constexpr std::uint64_t kMaxPayload = std::uint64_t{64} << 20;

struct client_config {
  std::string host;
  std::string port;
  std::string target;  // path and query, credential included: never logged or reported
  bool secure = false;
  tls_config tls;
  std::uint32_t connect_timeout_ms = 10000;
  std::uint64_t max_payload = 16u * 1024u * 1024u;
  std::size_t max_queue = 10000;
  std::uint32_t heartbeat_interval_ms = 15000;  // 0 disables the heartbeat
  std::uint32_t heartbeat_timeout_ms = 10000;
  reconnect_policy reconnect;
  std::uint64_t seed = 0;          // jitter seed; 0 = random
  bool token_per_attempt = false;  // ask JS for a fresh target before every attempt
  dialect wire_dialect = dialect::documented;
  std::uint32_t settle_ms = 1000;  // live dialect: how long a subscribe must survive to count
  std::string user_agent = "voip-realtime";
  protocol_kind protocol = protocol_kind::voipbin;
  std::string credential;  // sent after the upgrade (Natterbox auth); never logged or reported
  bool credential_header = false;  // natterbox-messages: credential as `Authorization: Bearer`
  natterbox_config natterbox;
};

struct client_stats {
  std::uint64_t received = 0;        // events read from the socket
  std::uint64_t filtered = 0;        // events matching no active pattern (dropped natively)
  std::uint64_t delivered = 0;       // events handed to JS
  std::uint64_t dropped = 0;         // events lost to an overflow policy
  std::uint64_t duplicates = 0;      // live dialect: events removed as duplicates
  std::uint64_t malformed = 0;       // frames reported as malformed
  std::uint64_t bytes_received = 0;  // payload bytes of all frames
  std::uint64_t reconnects = 0;      // successful upgrades after the first
  std::uint64_t queue_depth = 0;
  double last_event_at = 0;          // ms since the epoch, 0 = never
};

class client {
 public:
  // `wake` runs on the io thread whenever the queue needs draining (see event_queue).
  static std::shared_ptr<client> create(io_runtime& runtime, client_config config,
                                        std::function<void()> wake);
  virtual ~client() = default;

  // All of these may be called from any thread; the work is posted to the client's strand.
  virtual void start() = 0;
  virtual void subscribe(std::vector<std::string> patterns) = 0;    // normalised patterns
  virtual void unsubscribe(std::vector<std::string> patterns) = 0;  // sends unsubscribe
  virtual void drop(std::vector<std::string> patterns) = 0;         // forget without sending
  // Answer to token_request: the next upgrade's target, and the credential a protocol sends
  // after the upgrade (empty = keep the current one).
  virtual void set_target(std::string target, std::string credential) = 0;
  virtual void token_failed(std::string code, std::string message) = 0;
  virtual void close() = 0;  // graceful and idempotent; ends with the final close record
  // A planned reconnect (the credential is about to expire): an open connection is dropped and
  // the next attempt starts at once, with a fresh token request; reported without an error.
  virtual void refresh() = 0;
  virtual void resume_reading() = 0;  // the consumer drained the queue

  // Consumer side (JS thread).
  virtual event_queue& queue() noexcept = 0;
  virtual client_stats stats() const = 0;
};

}  // namespace vr
