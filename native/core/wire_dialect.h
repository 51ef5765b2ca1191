// The single place that knows which wire dialect a connection speaks (docs/protocol-voipbin.md): how
// frames are read, what subscribe/unsubscribe messages carry, and how a subscription's outcome is
// learnt. Private to native/core; one per client, living on the client's strand (io thread).
//
// documented  frames through documented_codec; patterns sent verbatim, batched as given; the
//             server answers with ack/error frames.
// live        frames through live_codec (bare, wrapped and enveloped alike); patterns become the
//             prefixes of live_wire_topics, reference-counted per prefix so an unsubscribe goes
//             out only when no pattern needs that prefix; events are matched locally on the
//             derived topics and de-duplicated. The server never answers, so every subscribe()
//             call is one message, sent only after the previous one settled: it counts as
//             accepted once the socket stayed open for settle_ms (synthetic ack), and as refused
//             when the socket closes first (synthetic error; its patterns are forgotten, so they
//             are never resent). The resubscribe after a reconnect settles the same way.
//             Patterns a client-side check refuses are never sent at all.
// automatic   documented on the wire until the server gives itself away:
//               - an envelope, ack or error frame                                -> documented
//               - a bare or wrapped resource frame                              -> live
//               - the subscribe messages sent so far got no answer within
//                 settle_ms with the socket open                                -> live
//               - the socket closed within settle_ms of an unanswered subscribe -> live, and
//                 that subscribe failed as in the live dialect
//             Switching to live subscribes the live prefixes and unsubscribes the literal
//             documented patterns at once, logs the warnings the live dialect gives for the
//             patterns already held (live_permission_check), and acknowledges what was sent
//             when the live prefixes have stayed open for settle_ms: a subscribe pending when a
//             bare frame decides counts from that moment, not from when it was first sent. The
//             decision holds for the client's lifetime.
//
// Everything reaches JS through the hooks: messages to write, control records (`sent`,
// `dialect`, `warning`) and server records (synthetic `ack`/`error` with "synthetic":true).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "core/client.h"
#include "core/codec.h"
#include "core/live_codec.h"
#include "core/topic.h"
#include "core/transport.h"

namespace vr {

struct wire_hooks {
  std::function<void(std::string)> send;              // one text message on the open connection
  std::function<void(std::string_view)> control;      // a control record for JS
  std::function<void(std::string_view)> server;       // a server record (ack/error) for JS
  std::function<std::shared_ptr<void>()> keep_alive;  // the owner, held by pending timer waits
};

class wire_dialect {
 public:
  // `config` and `matcher` belong to the owner and outlive this object; the target is read at
  // each check, because a per-attempt token replaces it.
  wire_dialect(const detail::strand_type& strand, const client_config& config, topic_matcher& matcher,
               wire_hooks hooks);

  // --- frames (io thread) ---
  const frame_view& classify(const char* data, std::size_t size, std::size_t capacity);
  // The topic an event is reported under, empty when no active pattern matches it; `second` is
  // the other topic it is known under when that matches too (live_matched_topic).
  std::string_view matched_topic(const frame_view& frame, std::string_view& second) const;
  // True when the frame is an event that no active pattern matches, found from its top level
  // alone (prefilter.h): the documented dialect's topic, or the live dialect's routing keys of a
  // bare resource. The owner drops it without the full parse, so an unwanted frame is not
  // validated; it counts as received and filtered, not malformed. The look is skipped for a
  // while when recent traffic showed almost nothing to drop (then the full parse decides).
  bool unmatched_event(const char* data, std::size_t size);
  // True when the event was delivered recently (live dialect); remembers it otherwise.
  bool duplicate(const frame_view& frame);
  // After a large frame was handled: the codecs give back what it made them grow.
  void release_memory() noexcept;

  // --- subscriptions (io thread; `open` = the connection is upgraded and usable) ---
  void subscribe(std::vector<std::string> patterns, bool open);
  void unsubscribe(std::vector<std::string> patterns, bool open);
  void drop(const std::vector<std::string>& patterns);

  // --- connection (io thread) ---
  // The upgrade succeeded: writes the resubscribe message and returns its patterns.
  std::vector<std::string> on_open();
  // After the open record: sends what waited for the connection.
  void after_open();
  // An open connection ended; `refused` when the peer closed it (what the live server does to
  // a subscribe it refuses) rather than a local verdict such as a heartbeat timeout. Pushes the
  // synthetic errors of a subscribe that had not settled, before the owner's close record, and
  // returns true when it did (the loss is then that subscribe's refusal, already reported).
  bool on_lost(bool refused);
  // The transport is gone (any reason, close() included): no timer may fire any more.
  void on_teardown();

  // "documented", "live", or null while `automatic` has not decided (JSON).
  void append_name(std::string& out) const;
  dialect current() const noexcept { return current_; }

 private:
  struct message {
    bool subscribe = true;
    std::vector<std::string> topics;  // patterns, as JS knows them
  };

  bool live() const noexcept { return current_ == dialect::live; }
  bool unmatched_documented(const char* data, std::size_t size) const;
  bool unmatched_live(const char* data, std::size_t size);
  void add_refs(const std::string& pattern);
  void release_refs(const std::string& pattern, std::vector<std::string>* unsent);
  void forget(const std::string& pattern, std::vector<std::string>* unsent);
  bool deny_locally(const std::vector<std::string>& patterns);
  void push_warning(const std::string& message);
  void pump();
  void arm_settle();
  void on_settled();
  void decide(dialect d, const std::string& reason);
  void switch_to_live();
  bool fail(const std::vector<std::string>& patterns, bool resubscribe);  // true when it reported
  void push_sent(bool subscribe, const std::vector<std::string>& topics);
  void push_ack(bool subscribe, const std::vector<std::string>& topics);
  std::vector<std::string> still_wanted(const std::vector<std::string>& patterns) const;
  live_credential credential(std::string& agent_id) const;

  const client_config& config_;
  topic_matcher& matcher_;
  wire_hooks hooks_;
  boost::asio::steady_timer settle_timer_;
  dialect current_;  // `automatic` = not decided yet

  static constexpr std::uint32_t kPeekWindow = 256;
  static constexpr std::uint32_t kPeekPause = 4096;
  std::uint32_t peek_seen_ = 0;     // frames peeked in this window
  std::uint32_t peek_dropped_ = 0;  // of which unwanted
  std::uint32_t peek_pause_ = 0;    // frames left to classify without a peek
  std::string peek_topic_;          // live: the topics a peeked frame derives, reused
  std::string peek_alt_topic_;

  documented_codec documented_;
  live_codec live_codec_;
  dedupe_window dedupe_;

  bool open_ = false;
  std::uint64_t generation_ = 0;  // per connection, so a stale settle timer does nothing
  std::unordered_map<std::string, std::uint32_t> refs_;  // live prefix -> patterns needing it
  std::unordered_set<std::string> on_wire_;              // live prefixes sent on this connection
  std::set<std::string> settled_;                        // live: patterns confirmed once
  std::deque<std::vector<std::string>> queue_;           // live: subscribe() calls not sent yet
  std::optional<std::vector<std::string>> settling_;     // live: the message waiting to settle
  bool settling_resubscribe_ = false;
  std::vector<message> probe_;                // automatic: documented messages awaiting an answer
  std::unordered_set<std::string> doc_wire_;  // automatic: documented patterns on the wire
};

}  // namespace vr
