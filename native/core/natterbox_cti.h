// Natterbox's CTI presence socket on the protocol seam (docs/protocol-natterbox.md). The protocol
// is natterbox_cti.cpp; patterns, paths and the presence book are natterbox_topics.cpp.
//
// After the upgrade the first frame is `auth` with the credential; nothing else is written until
// the server's `tick` carrying `message:"welcome"` (then host.ready()). An `error` frame or a
// 4001 close before it refuses the credential.
//
// Patterns (normalised by JS, checked again here) and their paths:
//   org:O:user:U:presence   /organisation/O/user/U   (or /org/O/user/U/presence, `seed_paths`)
//   org:O:group:G:presence  /organisation/O/user-group/G
// Subscribes go out one at a time. Each opens a snapshot window that closes 250 ms after its last
// `response` frame or `snapshot_window_ms` after it was sent; the users in a group's window are
// its members (a `members` control record), then the subscribe is acknowledged (`ack` with the
// request id) and the events read during the window follow, so code resuming after subscribe()
// sees its snapshot. An `error` naming the path refuses that subscribe (PERMISSION_DENIED).
// Unsubscribes need no answer: they are acknowledged as they are written.
//
// Every element of a `response` is a `presence_updated` event on `org:O:user:U:presence`, for
// users some pattern covers; a change of `presence` or availability against the last known
// state adds `presence_<ringing|answered|bridged|idle>` / `availability_changed` after it. The
// last known state survives reconnects, so an unchanged snapshot derives nothing.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/id_table.h"
#include "core/protocol.h"

namespace vr {

// Both Natterbox sockets: a frame that must be one JSON object. An unparseable frame is reported
// as malformed, any other value as unknown; false then.
bool natterbox_frame_object(simdjson::dom::parser& parser, const char* data, std::size_t size, std::size_t capacity,
                            protocol_host& host, simdjson::dom::object& out);

// Events held back until a subscribe's answer has gone to JS (code resuming after
// `await subscribe()` attaches its listeners first), then handed over in order.
class held_events {
 public:
  bool empty() const { return held_.empty(); }
  void hold(std::string type, std::string topic, std::string timestamp, std::string data) {
    held_.push_back({std::move(type), std::move(topic), std::move(timestamp), std::move(data)});
  }
  void release(protocol_host& host) {
    std::vector<event> held = std::move(held_);
    held_.clear();
    for (const auto& e : held) host.push_event(e.type, e.topic, e.timestamp, e.data);
  }

 private:
  struct event {
    std::string type;
    std::string topic;
    std::string timestamp;
    std::string data;
  };
  std::vector<event> held_;
};

struct natterbox_pattern {
  std::string org;   // decimal, no leading zeros
  bool group = false;
  std::string id;    // user or group id, decimal
};

// Parses a normalised presence pattern; false for anything else.
bool parse_natterbox_pattern(std::string_view pattern, natterbox_pattern& out);
std::string natterbox_pattern_text(const natterbox_pattern& p);
// The CTI path of a pattern; `seed_paths` selects /org/O/user/U/presence for users.
std::string natterbox_path(const natterbox_pattern& p, bool seed_paths);
// Reads a path in either style back into a pattern.
bool parse_natterbox_path(std::string_view path, natterbox_pattern& out);
// The text of each element of a `response` frame's `data` array, as the frame carries it
// (natterbox_elements.cpp). `minified` when that text is byte for byte what simdjson::minify gives
// for the element: no whitespace outside strings, no escape in a string, every number an integer
// of at most 18 digits other than -0 (strings hold no byte the minifier escapes: the parser
// refuses raw control characters). Such an element is handed on as it came.
struct element_text {
  std::string_view text;
  bool minified = false;
};
// For a frame the DOM parser accepted: the elements of the array under its first top-level key
// "data". False (`out` then means nothing) when a key before it is escaped, or the value is not an
// array; the caller then serialises each element itself.
bool response_element_texts(std::string_view frame, std::vector<element_text>& out);

// natterbox_topics.cpp: a user id as the number it names, from an integer of at least 0 or a
// string of at most 18 digits (leading zeros allowed); false for anything else. Topics carry the
// number's decimal form.
bool natterbox_user_id(simdjson::dom::element value, std::uint64_t& out);
// The same for the text of a decimal id (at most 18 digits), as patterns carry it.
bool natterbox_decimal_id(std::string_view s, std::uint64_t& out);

// The receive time as ISO 8601 with milliseconds, UTC (no Natterbox frame carries a time),
// formatting the date only when the second changes.
class receive_clock {
 public:
  std::string_view now();
  std::string_view at(std::int64_t unix_ms);  // exposed for tests

 private:
  std::int64_t second_ = INT64_MIN;
  std::size_t size_ = 0;
  char text_[48] = {};
};

// The last known presence of each user, and what an element changes.
class presence_book {
 public:
  struct element {
    std::optional<std::string_view> presence;  // "" = idle
    std::optional<std::string_view> availability;
    std::optional<std::int64_t> availability_state_id;
  };
  struct change {
    bool first = true;                 // no earlier state: nothing is derived
    std::string_view presence_event;   // "presence_ringing" ... or empty; valid until the next apply
    bool availability = false;
  };
  change apply(std::uint64_t user, const element& e);
  void prefetch(std::uint64_t user) const noexcept { users_.prefetch(user); }
  void clear() { users_.clear(); }

 private:
  struct state {
    std::string presence;
    std::string availability;
    std::int64_t availability_state_id = -1;
    bool has_presence = false;
    bool has_availability = false;
    bool has_state_id = false;
  };
  id_table<state> users_;
  std::string event_;  // the derived name of a presence outside the known ones
};

std::unique_ptr<protocol> make_natterbox_cti(const detail::strand_type& strand, const client_config& config,
                                             protocol_host& host);

}  // namespace vr
