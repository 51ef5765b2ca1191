// The seam between a connection and the protocol it speaks. The connection (client_impl.h) owns
// what every protocol shares: resolve/TCP/TLS/upgrade, the write FIFO, reading and its
// back-pressure, the heartbeat, reconnects with backoff, the event queue towards JS and the
// counters. A protocol owns what differs: the post-upgrade exchange (authentication, waiting
// until the server is ready), how subscribe/unsubscribe are encoded and answered, how an incoming
// frame becomes acks, errors, events or lifecycle, and which topics a pattern covers.
//
// Implementations: VoIPBIN (documented, live and automatic dialects; protocol_voipbin.cpp over
// wire_dialect), Natterbox CTI presence (natterbox_cti.h) and Natterbox messages
// (natterbox_messages.h); docs/protocol-natterbox.md.
// A protocol lives on the connection's strand (io thread) and reports through protocol_host.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/client.h"
#include "core/topic.h"
#include "core/transport.h"

namespace vr {

// What a protocol may do to the connection it runs on. Implemented by the connection.
class protocol_host {
 public:
  // One text message on the socket (the upgrade has succeeded).
  virtual void send_text(std::string text) = 0;
  // A control record for JS (native/BINDING.md): `sent`, `members`, `dialect`, `warning`, ...
  virtual void push_control(std::string_view json) = 0;
  // An answer for JS: an `ack` or `error` record.
  virtual void push_server(std::string_view json) = 0;
  // An event for JS. The connection counts it and applies back-pressure. `server_event_type` is
  // the server's own name when it stands beside a documented one in event_type (VoIPBIN live
  // dialect); `second_topic` another topic the event matched a pattern under (batch.h).
  virtual void push_event(std::string_view event_type, std::string_view topic, std::string_view timestamp,
                          std::string_view data, std::string_view server_event_type = {},
                          std::string_view second_topic = {}) = 0;
  // Hands the events pushed so far to JS now. Within a read this happens when the read pauses;
  // a protocol pushing events from a timer calls it.
  virtual void flush_events() = 0;
  // Counters: a frame that was an event (delivered or not), one no pattern wanted, a duplicate.
  virtual void count_received() = 0;
  virtual void count_filtered() = 0;
  virtual void count_duplicate() = 0;
  // A frame that is not valid: counted in `malformed` and reported as MALFORMED_EVENT.
  virtual void malformed(std::string reason) = 0;
  // A valid frame of a kind this protocol does not know: counted in `malformed` and logged as a
  // warning, nothing else (forward compatibility).
  virtual void unknown(std::string reason) = 0;
  // The post-upgrade exchange finished: the connection is open (see protocol::on_upgraded).
  virtual void ready() = 0;
  // The post-upgrade exchange failed because of the credential (AUTH_FAILED): the attempt ends
  // and a fresh credential is asked for when the client has getToken.
  virtual void refuse_credential(std::string message) = 0;
  // Keeps the connection alive across a timer wait started by the protocol.
  virtual std::shared_ptr<void> keep_alive() = 0;

 protected:
  ~protocol_host() = default;
};

class protocol {
 public:
  virtual ~protocol() = default;

  // --- connection (io thread) ---
  // Adds what this protocol puts in the upgrade request besides the target (a credential header).
  virtual void prepare_upgrade(detail::upgrade_request&) const {}
  // The upgrade succeeded. Returns true when the connection is usable at once; false when the
  // protocol runs an exchange first (it writes through send_text and ends it with host.ready()
  // or host.refuse_credential()). Frames read meanwhile go to on_frame.
  virtual bool on_upgraded() = 0;
  // The socket closed or failed before host.ready(). Returns true when that close is how the
  // server refuses the credential (AUTH_FAILED), false for an ordinary network failure.
  virtual bool refused_by_close(std::uint16_t close_code) const = 0;
  // The connection is open: writes the resubscribe and returns its patterns.
  virtual std::vector<std::string> on_open() = 0;
  // After the open record: sends what waited for the connection.
  virtual void after_open() = 0;
  // An open connection ended; `refused` when the peer closed it rather than a local verdict.
  // Returns true when the protocol reported that loss as a subscribe's refusal (the close is then
  // not an error of its own).
  virtual bool on_lost(bool refused) = 0;
  // The transport is gone (any reason, close() included): no timer may fire any more.
  virtual void on_teardown() = 0;
  // The JSON value reported as `dialect` in the open record ("documented", "live", null,
  // "natterbox").
  virtual void append_name(std::string& out) const = 0;

  // --- frames (io thread); `capacity` bytes are readable from `data` (simdjson padding) ---
  virtual void on_frame(const char* data, std::size_t size, std::size_t capacity) = 0;
  // Called on the io thread some time after a large frame was handled (nothing refers to its
  // decoded form any more): gives back the buffers it grew.
  virtual void release_memory() noexcept {}

  // --- subscriptions (io thread; `open` = usable connection) ---
  virtual void subscribe(std::vector<std::string> patterns, bool open) = 0;
  virtual void unsubscribe(std::vector<std::string> patterns, bool open) = 0;
  virtual void drop(const std::vector<std::string>& patterns) = 0;
};

// The protocol `config` asks for. `config` and `matcher` belong to the connection and outlive it.
std::unique_ptr<protocol> make_protocol(const detail::strand_type& strand, const client_config& config,
                                        topic_matcher& matcher, protocol_host& host);

}  // namespace vr
