// Everything here runs on the client's strand (io thread); see wire_dialect.h.
#include "core/wire_dialect.h"

#include <algorithm>
#include <chrono>

#include <simdjson.h>

#include "core/prefilter.h"

namespace vr {
namespace {

std::string encode(bool subscribe, const std::vector<std::string>& topics) {
  return documented_codec::encode(subscribe ? "subscribe" : "unsubscribe", topics);
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else if (c == '=') break;
    else return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// The agent a JWT belongs to (its agent_id claim, lower-cased), or empty. The signature is not
// checked: this only predicts what the server will refuse, it grants nothing.
std::string jwt_agent(std::string_view token) {
  const std::size_t a = token.find('.');
  if (a == std::string_view::npos) return {};
  const std::size_t b = token.find('.', a + 1);
  if (b == std::string_view::npos) return {};
  std::string payload;
  if (!base64url_decode(token.substr(a + 1, b - a - 1), payload)) return {};
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(payload).get(root) != simdjson::SUCCESS) return {};
  std::string_view agent;
  if (root["agent_id"].get_string().get(agent) != simdjson::SUCCESS || !is_uuid(agent)) return {};
  std::string out(agent);
  for (char& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c + ('a' - 'A'));
  return out;
}

}  // namespace

wire_dialect::wire_dialect(const detail::strand_type& strand, const client_config& config, topic_matcher& matcher,
                           wire_hooks hooks)
    : config_(config),
      matcher_(matcher),
      hooks_(std::move(hooks)),
      settle_timer_(strand),
      current_(config.wire_dialect) {}

// --- frames ------------------------------------------------------------------------------

const frame_view& wire_dialect::classify(const char* data, std::size_t size, std::size_t capacity) {
  switch (current_) {
    case dialect::documented:
      return documented_.classify(data, size, capacity);
    case dialect::live:
      return live_codec_.classify(data, size, capacity);
    case dialect::automatic:
      break;
  }
  const frame_view& doc = documented_.classify(data, size, capacity);
  if (doc.kind == frame_kind::event || doc.kind == frame_kind::ack || doc.kind == frame_kind::error) {
    const char* what = doc.kind == frame_kind::event ? "an event in the documented envelope"
                       : doc.kind == frame_kind::ack ? "an ack frame"
                                                     : "an error frame";
    decide(dialect::documented, std::string("the server sent ") + what);
    return doc;
  }
  const frame_view& bare = live_codec_.classify(data, size, capacity);
  if (bare.kind == frame_kind::event) {
    decide(dialect::live, "the server sent an event without the documented envelope (" +
                              std::string(bare.server_event_type) + ")");
    // A subscribe still unanswered settles once the live prefixes decide() just sent have stayed
    // open for settle_ms (on_settled acknowledges the probe).
    if (open_ && !probe_.empty()) arm_settle();
    return bare;
  }
  return doc;
}

std::string_view wire_dialect::matched_topic(const frame_view& frame, std::string_view& second) const {
  return live_matched_topic(matcher_, frame, second);
}

bool wire_dialect::unmatched_event(const char* data, std::size_t size) {
#if VR_PREFILTER_SSE2
  if (current_ == dialect::automatic) return false;
  // The peek pays for itself only when a fair share of the traffic is unwanted: on a stream
  // where nearly everything matches it is pure overhead (measured: 2.0M events/s without it,
  // 1.4M with it, every event wanted). So it samples: a window of kPeekWindow frames, and if
  // fewer than one in eight was dropped, kPeekPause frames go straight to the full parse.
  if (peek_pause_ > 0) {
    --peek_pause_;
    return false;
  }
  const bool unmatched = current_ == dialect::documented ? unmatched_documented(data, size) : unmatched_live(data, size);
  peek_dropped_ += unmatched ? 1 : 0;
  if (++peek_seen_ == kPeekWindow) {
    if (peek_dropped_ * 8 < peek_seen_) peek_pause_ = kPeekPause;
    peek_seen_ = peek_dropped_ = 0;
  }
  return unmatched;
#else
  // The portable walk costs about as much as the full parse: nothing to gain.
  static_cast<void>(data);
  static_cast<void>(size);
  return false;
#endif
}

bool wire_dialect::unmatched_documented(const char* data, std::size_t size) const {
  const topic_peek peek = peek_event_topic(data, size);
  return peek.event && !matcher_.matches(peek.topic);
}

// A bare resource whose topic and alt_topic (the two it can be delivered under) both match no
// pattern. Such a frame never reaches the dedupe window in the full path either: only events
// that match are remembered there.
bool wire_dialect::unmatched_live(const char* data, std::size_t size) {
  const live_peek peek = peek_live_resource(data, size);
  if (peek.resource.empty()) return false;
  if (!live_resource_topics(peek.customer_id, peek.resource, peek.id, peek.owner_type, peek.owner_id, peek_topic_,
                            peek_alt_topic_))
    return false;
  return !matcher_.matches(peek_topic_) && (peek_alt_topic_.empty() || !matcher_.matches(peek_alt_topic_));
}

bool wire_dialect::duplicate(const frame_view& frame) {
  return frame.dedupe_key != 0 && dedupe_.seen_recently(frame.dedupe_key);
}

void wire_dialect::release_memory() noexcept {
  documented_.release_memory();
  live_codec_.release_memory();
}

// --- subscriptions -----------------------------------------------------------------------

void wire_dialect::subscribe(std::vector<std::string> patterns, bool open) {
  if (current_ == dialect::documented) {
    for (const auto& p : patterns) matcher_.add(p);
    if (!open) return;
    hooks_.send(encode(true, patterns));
    push_sent(true, patterns);
    return;
  }
  if (current_ == dialect::automatic) {
    for (const auto& p : patterns)
      if (matcher_.add(p)) add_refs(p);
    if (!open) return;
    hooks_.send(encode(true, patterns));
    push_sent(true, patterns);
    doc_wire_.insert(patterns.begin(), patterns.end());
    probe_.push_back({true, std::move(patterns)});
    arm_settle();
    return;
  }
  if (deny_locally(patterns)) return;
  std::vector<std::string> batch;
  for (auto& p : patterns) {
    if (!matcher_.add(p)) continue;
    add_refs(p);
    batch.push_back(std::move(p));
  }
  if (batch.empty()) return;
  queue_.push_back(std::move(batch));
  if (open) pump();
}

void wire_dialect::unsubscribe(std::vector<std::string> patterns, bool open) {
  if (current_ == dialect::documented) {
    for (const auto& p : patterns) matcher_.remove(p);
    if (!open) return;
    hooks_.send(encode(false, patterns));
    push_sent(false, patterns);
    return;
  }
  if (current_ == dialect::automatic) {
    for (const auto& p : patterns) forget(p, nullptr);
    if (!open) return;
    hooks_.send(encode(false, patterns));
    push_sent(false, patterns);
    for (const auto& p : patterns) doc_wire_.erase(p);
    probe_.push_back({false, std::move(patterns)});
    arm_settle();
    return;
  }
  // Live: an unsubscribe of prefixes this client subscribed cannot be refused, so it is
  // acknowledged at once; prefixes other patterns still need stay.
  std::vector<std::string> unsent;
  for (const auto& p : patterns) forget(p, &unsent);
  if (!open) return;
  if (!unsent.empty()) {
    std::sort(unsent.begin(), unsent.end());
    hooks_.send(encode(false, unsent));
    push_sent(false, patterns);
  }
  push_ack(false, patterns);
}

void wire_dialect::drop(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) forget(p, nullptr);
}

void wire_dialect::add_refs(const std::string& pattern) {
  for (auto& t : live_wire_topics(pattern)) ++refs_[std::move(t)];
}

void wire_dialect::release_refs(const std::string& pattern, std::vector<std::string>* unsent) {
  for (const auto& t : live_wire_topics(pattern)) {
    const auto it = refs_.find(t);
    if (it == refs_.end()) continue;
    if (--it->second != 0) continue;
    refs_.erase(it);
    if (unsent && on_wire_.erase(t)) unsent->push_back(t);
  }
}

// Forgets one pattern everywhere; `unsent` collects the live prefixes nothing needs any more.
void wire_dialect::forget(const std::string& pattern, std::vector<std::string>* unsent) {
  if (!matcher_.remove(pattern)) return;
  release_refs(pattern, unsent);
  settled_.erase(pattern);
  for (auto& batch : queue_) batch.erase(std::remove(batch.begin(), batch.end(), pattern), batch.end());
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(), [](const auto& b) { return b.empty(); }), queue_.end());
}

// The live server closes the connection for a whole message when one topic is refused, so a
// pattern it is known to refuse fails its subscribe() call before anything is sent.
bool wire_dialect::deny_locally(const std::vector<std::string>& patterns) {
  std::string agent;
  const live_credential kind = credential(agent);
  std::vector<std::string> denied;
  std::vector<std::string> warnings;
  std::string code, why;
  for (const auto& p : patterns) {
    live_check check = live_permission_check(p, kind, agent);
    if (check.verdict == live_verdict::deny) {
      if (denied.empty()) {
        code = std::move(check.code);
        why = std::move(check.message);
      }
      denied.push_back(p);
    } else if (check.verdict == live_verdict::warn) {
      warnings.push_back(std::move(check.message));
    }
  }
  if (denied.empty()) {
    for (const auto& w : warnings) push_warning(w);
    return false;
  }
  std::string json = "{\"type\":\"error\",\"action\":\"subscribe\",\"topics\":";
  append_json_string_array(json, denied);
  json += ",\"code\":";
  append_json_string(json, code);
  json += ",\"message\":";
  append_json_string(json, why + " (checked before sending; nothing was sent)");
  json += ",\"synthetic\":true}";
  hooks_.server(json);
  return true;
}

void wire_dialect::push_warning(const std::string& message) {
  std::string json = "{\"type\":\"warning\",\"message\":";
  append_json_string(json, message);
  json += '}';
  hooks_.control(json);
}

// Sends the next queued subscribe() call once nothing is waiting to settle.
void wire_dialect::pump() {
  while (open_ && !settling_ && probe_.empty() && !queue_.empty()) {
    std::vector<std::string> batch = std::move(queue_.front());
    queue_.pop_front();
    std::vector<std::string> prefixes;
    for (const auto& p : batch)
      for (auto& t : live_wire_topics(p))
        if (on_wire_.insert(t).second) prefixes.push_back(std::move(t));
    if (prefixes.empty()) {
      // Every prefix is already subscribed and confirmed on this connection.
      settled_.insert(batch.begin(), batch.end());
      push_ack(true, batch);
      continue;
    }
    hooks_.send(encode(true, prefixes));
    push_sent(true, batch);
    settling_ = std::move(batch);
    settling_resubscribe_ = false;
    arm_settle();
  }
}

void wire_dialect::arm_settle() {
  settle_timer_.expires_after(std::chrono::milliseconds(config_.settle_ms));
  settle_timer_.async_wait([this, keep = hooks_.keep_alive(), generation = generation_](const detail::error_code& ec) {
    if (ec || generation != generation_ || !open_) return;
    on_settled();
  });
}

void wire_dialect::on_settled() {
  if (!probe_.empty()) {
    decide(dialect::live, "no answer to a subscribe within " + std::to_string(config_.settle_ms) +
                              " ms while the connection stayed open");
    std::vector<message> probe = std::move(probe_);
    probe_.clear();
    // The live prefixes go out before JS hears of the acks (when a bare frame decided, they
    // went out then and nothing is left to send).
    switch_to_live();
    for (auto& m : probe) {
      if (!m.subscribe) {
        push_ack(false, m.topics);
        continue;
      }
      std::vector<std::string> accepted = still_wanted(m.topics);
      settled_.insert(accepted.begin(), accepted.end());
      if (!accepted.empty()) push_ack(true, accepted);
    }
    pump();
    return;
  }
  if (!settling_) return;
  std::vector<std::string> accepted = still_wanted(*settling_);
  settling_.reset();
  settled_.insert(accepted.begin(), accepted.end());
  if (!accepted.empty()) push_ack(true, accepted);
  pump();
}

void wire_dialect::decide(dialect d, const std::string& reason) {
  if (current_ != dialect::automatic) return;
  current_ = d;
  if (d == dialect::documented) {
    settle_timer_.cancel();
    probe_.clear();
    doc_wire_.clear();
    refs_.clear();
  }
  std::string json = "{\"type\":\"dialect\",\"dialect\":";
  append_name(json);
  json += ",\"reason\":";
  append_json_string(json, reason);
  json += '}';
  hooks_.control(json);
  if (d != dialect::live) return;
  // The patterns held so far were never checked against the live server's rules: the same
  // warnings as a client created with dialect live (refusals surface when the server closes).
  std::string agent;
  const live_credential kind = credential(agent);
  for (const auto& p : matcher_.patterns()) {
    const live_check check = live_permission_check(p, kind, agent);
    if (check.verdict == live_verdict::warn) push_warning(check.message);
  }
  if (open_) switch_to_live();
}

// The documented patterns sent while undecided were accepted as literal prefixes (matching
// nothing but a concrete id): subscribe the live prefixes and take the literals back.
void wire_dialect::switch_to_live() {
  std::vector<std::string> prefixes;
  for (const auto& [t, n] : refs_)
    if (on_wire_.insert(t).second) prefixes.push_back(t);
  std::vector<std::string> stale;
  for (const auto& p : doc_wire_)
    if (on_wire_.count(p) == 0) stale.push_back(p);
  doc_wire_.clear();
  std::sort(prefixes.begin(), prefixes.end());
  std::sort(stale.begin(), stale.end());
  if (!prefixes.empty()) hooks_.send(encode(true, prefixes));
  if (!stale.empty()) hooks_.send(encode(false, stale));
}

bool wire_dialect::fail(const std::vector<std::string>& patterns, bool resubscribe) {
  const std::vector<std::string> failed = still_wanted(patterns);
  if (failed.empty()) return false;
  std::string agent;
  const live_credential kind = credential(agent);
  std::string code = "PERMISSION_DENIED";
  std::string why;
  for (const auto& p : failed) {
    live_check check = live_permission_check(p, kind, agent);
    if (check.verdict != live_verdict::deny) continue;
    code = std::move(check.code);
    why = std::move(check.message);
    break;
  }
  for (const auto& p : failed) forget(p, nullptr);
  std::string message = "the server closed the connection within " + std::to_string(config_.settle_ms) +
                        " ms of the " + (resubscribe ? "resubscribe after a reconnect" : "subscribe") +
                        ", which is how the live server refuses a topic (another customer, a credential "
                        "without Admin or Manager permission, or another agent's topic)";
  if (!why.empty()) message += ": " + why;
  message += "; these patterns are dropped and not sent again";
  std::string json = "{\"type\":\"error\",\"action\":\"subscribe\",\"topics\":";
  append_json_string_array(json, failed);
  json += ",\"code\":";
  append_json_string(json, code);
  json += ",\"message\":";
  append_json_string(json, message);
  json += ",\"synthetic\":true}";
  hooks_.server(json);
  return true;
}

// --- connection --------------------------------------------------------------------------

std::vector<std::string> wire_dialect::on_open() {
  open_ = true;
  ++generation_;
  dedupe_.clear();
  on_wire_.clear();
  doc_wire_.clear();
  probe_.clear();
  settling_.reset();
  if (current_ != dialect::live) {
    std::vector<std::string> patterns = matcher_.patterns();
    if (patterns.empty()) return patterns;
    hooks_.send(encode(true, patterns));
    if (current_ == dialect::automatic) {
      doc_wire_.insert(patterns.begin(), patterns.end());
      probe_.push_back({true, patterns});
      arm_settle();
    }
    return patterns;
  }
  std::vector<std::string> patterns(settled_.begin(), settled_.end());
  if (patterns.empty()) return patterns;
  std::vector<std::string> prefixes;
  for (const auto& p : patterns)
    for (auto& t : live_wire_topics(p))
      if (on_wire_.insert(t).second) prefixes.push_back(std::move(t));
  std::sort(prefixes.begin(), prefixes.end());
  hooks_.send(encode(true, prefixes));
  settling_ = patterns;
  settling_resubscribe_ = true;
  arm_settle();
  return patterns;
}

void wire_dialect::after_open() { pump(); }

bool wire_dialect::on_lost(bool refused) {
  if (!open_) return false;
  bool reported = false;
  open_ = false;
  ++generation_;
  settle_timer_.cancel();
  on_wire_.clear();
  doc_wire_.clear();
  if (!probe_.empty()) {
    std::vector<message> probe = std::move(probe_);
    probe_.clear();
    if (refused) {
      decide(dialect::live,
             "the connection closed within " + std::to_string(config_.settle_ms) +
                 " ms of an unanswered subscribe, as the live server does when it refuses a topic");
      for (const auto& m : probe)
        if (m.subscribe && fail(m.topics, false)) reported = true;
    }
    if (live()) {
      // Patterns never confirmed go out as one message of their own after the reconnect.
      std::vector<std::string> rest;
      for (auto& p : matcher_.patterns())
        if (settled_.count(p) == 0) rest.push_back(std::move(p));
      if (!rest.empty()) queue_.push_front(std::move(rest));
    }
  }
  if (settling_) {
    std::vector<std::string> batch = std::move(*settling_);
    settling_.reset();
    if (refused) {
      reported = fail(batch, settling_resubscribe_) || reported;
    } else if (!settling_resubscribe_) {
      batch = still_wanted(batch);
      if (!batch.empty()) queue_.push_front(std::move(batch));
    }
  }
  return reported;
}

void wire_dialect::on_teardown() {
  if (open_) on_lost(false);
  ++generation_;
  settle_timer_.cancel();
}

void wire_dialect::append_name(std::string& out) const {
  switch (current_) {
    case dialect::documented:
      out += "\"documented\"";
      return;
    case dialect::live:
      out += "\"live\"";
      return;
    case dialect::automatic:
      out += "null";
      return;
  }
}

// --- records -----------------------------------------------------------------------------

void wire_dialect::push_sent(bool subscribe, const std::vector<std::string>& topics) {
  std::string json = subscribe ? "{\"type\":\"sent\",\"action\":\"subscribe\",\"topics\":"
                               : "{\"type\":\"sent\",\"action\":\"unsubscribe\",\"topics\":";
  append_json_string_array(json, topics);
  json += '}';
  hooks_.control(json);
}

void wire_dialect::push_ack(bool subscribe, const std::vector<std::string>& topics) {
  std::string json = subscribe ? "{\"type\":\"ack\",\"action\":\"subscribe\",\"topics\":"
                               : "{\"type\":\"ack\",\"action\":\"unsubscribe\",\"topics\":";
  append_json_string_array(json, topics);
  json += ",\"status\":\"success\",\"synthetic\":true}";
  hooks_.server(json);
}

std::vector<std::string> wire_dialect::still_wanted(const std::vector<std::string>& patterns) const {
  std::vector<std::string> out;
  for (const auto& p : patterns)
    if (matcher_.contains(p)) out.push_back(p);
  return out;
}

live_credential wire_dialect::credential(std::string& agent_id) const {
  agent_id.clear();
  std::string_view target = config_.target;
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return live_credential::jwt;
  std::string_view query = target.substr(q + 1);
  std::string_view token;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = param.find('=');
    const std::string_view key = param.substr(0, eq);
    if (key == "accesskey") return live_credential::access_key;
    if (key == "token" && eq != std::string_view::npos) token = param.substr(eq + 1);
  }
  if (!token.empty()) agent_id = jwt_agent(percent_decode(token));
  return live_credential::jwt;
}

}  // namespace vr
