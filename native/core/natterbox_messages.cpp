// Natterbox messages socket on the protocol seam; see natterbox_messages.h for the rules.
#include "core/natterbox_messages.h"

#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <simdjson.h>

#include "core/codec.h"
#include "core/natterbox_cti.h"

namespace vr {

namespace {

namespace asio = boost::asio;

constexpr std::string_view kSuffix = ":messages";

// RFC 4122 version 4: 122 random bits, the version nibble 4 and the variant bits 10.
std::string uuid_v4(std::mt19937_64& rng) {
  const std::uint64_t hi = (rng() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  const std::uint64_t lo = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

// DynamoDB Streams event names -> event types.
const char* event_type_of(std::string_view operation) {
  if (operation == "INSERT") return "userstatistics_created";
  if (operation == "MODIFY") return "userstatistics_updated";
  if (operation == "REMOVE") return "userstatistics_deleted";
  return nullptr;
}

class natterbox_messages final : public protocol {
 public:
  natterbox_messages(const detail::strand_type& strand, const client_config& config, protocol_host& host)
      : strand_(strand), config_(config), host_(host), rng_(std::random_device{}()) {}

  // --- connection ---

  // With the header choice the target carries no token: it goes here, on every attempt the
  // current one (set_target replaces config_.credential before the attempt starts).
  void prepare_upgrade(detail::upgrade_request& request) const override {
    if (config_.credential_header && !config_.credential.empty())
      request.authorization = "Bearer " + config_.credential;
  }

  bool on_upgraded() override { return true; }
  bool refused_by_close(std::uint16_t) const override { return false; }

  std::vector<std::string> on_open() override {
    open_ = true;
    ++generation_;
    return {confirmed_.begin(), confirmed_.end()};
  }

  void after_open() override {
    for (const auto& p : confirmed_) send_subscribe(p, true);
    for (const auto& p : wanted_)
      if (!confirmed_.count(p)) send_subscribe(p, false);
  }

  // A lost messages socket is never a subscribe's refusal: the close is reported as itself.
  bool on_lost(bool) override {
    open_ = false;
    ++generation_;
    pending_.clear();
    release_held();
    return false;
  }

  void on_teardown() override {
    open_ = false;
    ++generation_;
    pending_.clear();
  }

  void append_name(std::string& out) const override { out += "\"natterbox-messages\""; }

  // --- frames ---

  void release_memory() noexcept override { shrink_parser(parser_, 0); }

  void on_frame(const char* data, std::size_t size, std::size_t capacity) override {
    simdjson::dom::object obj;
    if (!natterbox_frame_object(parser_, data, size, capacity, host_, obj)) return;
    std::string_view request_id;
    bool answered = false;
    if (!obj["clientRequestId"].get_string().get(request_id)) answered = settle(std::string(request_id));
    std::string_view operation;
    if (obj["operation"].get_string().get(operation)) {
      if (!answered) host_.unknown("a messages frame with neither an operation nor a pending clientRequestId");
      return;
    }
    const char* type = event_type_of(operation);
    if (!type) return host_.unknown("a messages push of unknown operation \"" + std::string(operation.substr(0, 32)) + "\"");
    std::string payload = "{}";
    simdjson::dom::element body;
    if (!obj["data"].get(body)) {
      if (!body.is_object()) return host_.malformed("a messages push whose data is not an object");
      payload = simdjson::minify(body);
    }
    host_.count_received();
    if (wanted_.empty()) return host_.count_filtered();
    emit(type, *wanted_.begin(), std::string(clock_.now()), std::move(payload));
  }

  // --- subscriptions ---

  void subscribe(std::vector<std::string> patterns, bool open) override {
    for (auto& p : patterns) {
      std::string key;
      if (!parse_messages_pattern(p, key)) {
        push_answer(false, "subscribe", p, {}, "INVALID_TOPIC", "not a Natterbox messages pattern");
        continue;
      }
      if (!wanted_.insert(p).second) continue;
      if (open) send_subscribe(p, false);
    }
  }

  void unsubscribe(std::vector<std::string> patterns, bool) override {
    for (const auto& p : patterns) {
      forget(p);
      push_answer(true, "unsubscribe", p, {}, {}, {});
    }
  }

  void drop(const std::vector<std::string>& patterns) override {
    for (const auto& p : patterns) forget(p);
  }

 private:
  struct pending {
    std::string pattern;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void forget(const std::string& p) {
    wanted_.erase(p);
    confirmed_.erase(p);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.pattern == p) it = pending_.erase(it);
      else ++it;
    }
    if (pending_.empty()) release_held();
  }

  // A resubscribe was announced by the open record; a first subscribe gets a `sent` record.
  void send_subscribe(const std::string& pattern, bool resubscribe) {
    std::string key;
    parse_messages_pattern(pattern, key);
    std::string id = uuid_v4(rng_);
    std::string frame = "{\"request\":\"subscribe\",\"clientRequestId\":";
    append_json_string(frame, id);
    frame += ",\"data\":{\"users\":";
    append_json_string_array(frame, {key});
    frame += "}}";
    host_.send_text(std::move(frame));
    if (!resubscribe) {
      std::string json = "{\"type\":\"sent\",\"action\":\"subscribe\",\"topics\":";
      append_json_string_array(json, {pattern});
      json += ",\"clientRequestId\":";
      append_json_string(json, id);
      json += '}';
      host_.push_control(json);
    }
    auto timer = std::make_unique<asio::steady_timer>(strand_);
    timer->expires_after(std::chrono::milliseconds(config_.settle_ms));
    timer->async_wait([this, id, keep = host_.keep_alive(), generation = generation_](boost::system::error_code ec) {
      if (ec || generation != generation_) return;
      if (settle(id)) host_.flush_events();
    });
    pending_[id] = {pattern, std::move(timer)};
  }

  // The subscribe `id` is answered (an echo or its settle time): acknowledged, then the events
  // held behind it. False when no subscribe waits under that id.
  bool settle(const std::string& id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return false;
    const std::string pattern = std::move(it->second.pattern);
    pending_.erase(it);
    if (wanted_.count(pattern)) confirmed_.insert(pattern);
    push_answer(true, "subscribe", pattern, id, {}, {});
    if (pending_.empty()) release_held();
    return true;
  }

  void emit(const char* type, const std::string& topic, std::string timestamp, std::string data) {
    if (!pending_.empty()) return held_.hold(type, topic, std::move(timestamp), std::move(data));
    host_.push_event(type, topic, timestamp, data);
  }

  void release_held() { held_.release(host_); }

  // An ack or error record for one pattern; a subscribe's answer names its clientRequestId.
  void push_answer(bool ok, std::string_view action, const std::string& pattern, std::string_view request_id,
                   std::string_view code, std::string_view message) {
    std::string json = ok ? "{\"type\":\"ack\",\"action\":" : "{\"type\":\"error\",\"action\":";
    append_json_string(json, action);
    json += ",\"topics\":";
    append_json_string_array(json, {pattern});
    if (!request_id.empty()) {
      json += ",\"clientRequestId\":";
      append_json_string(json, request_id);
    }
    if (!ok) {
      json += ",\"code\":";
      append_json_string(json, code);
      json += ",\"message\":";
      append_json_string(json, message);
    }
    json += ",\"synthetic\":true}";
    host_.push_server(json);
  }

  detail::strand_type strand_;
  const client_config& config_;
  protocol_host& host_;
  simdjson::dom::parser parser_;
  std::mt19937_64 rng_;
  bool open_ = false;
  std::uint64_t generation_ = 0;
  std::set<std::string> wanted_;     // the pattern JS holds on this socket (one)
  std::set<std::string> confirmed_;  // acknowledged once: resent after a reconnect
  std::map<std::string, pending> pending_;  // clientRequestId -> subscribe waiting for its answer
  held_events held_;
  receive_clock clock_;
};

}  // namespace

bool parse_messages_pattern(std::string_view pattern, std::string& user_key) {
  if (pattern.size() <= kSuffix.size() || pattern.substr(pattern.size() - kSuffix.size()) != kSuffix) return false;
  natterbox_pattern p;
  const std::string presence = std::string(pattern.substr(0, pattern.size() - kSuffix.size())) + ":presence";
  if (!parse_natterbox_pattern(presence, p) || p.group) return false;
  user_key = "org:" + p.org + ":user:" + p.id;
  return true;
}

std::unique_ptr<protocol> make_natterbox_messages(const detail::strand_type& strand, const client_config& config,
                                                  protocol_host& host) {
  return std::make_unique<natterbox_messages>(strand, config, host);
}

}  // namespace vr
