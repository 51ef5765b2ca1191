// Natterbox CTI presence on the protocol seam; see natterbox_cti.h for the rules.
#include "core/natterbox_cti.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <set>

#include <boost/asio/steady_timer.hpp>
#include <simdjson.h>

#include "core/codec.h"

namespace vr {

namespace {

std::string user_topic(const std::string& org, const std::string& user) {
  return "org:" + org + ":user:" + user + ":presence";
}

namespace asio = boost::asio;

constexpr std::uint32_t kQuietMs = 250;
// The presence values the model document lists; others are kept in presence_updated but derive
// no event.
bool known_presence(std::string_view p) {
  return p.empty() || p == "RINGING" || p == "ANSWERED" || p == "BRIDGED";
}

class natterbox_cti final : public protocol {
 public:
  natterbox_cti(const detail::strand_type& strand, const client_config& config, protocol_host& host)
      : config_(config), host_(host), window_timer_(strand) {}

  // --- connection ---

  bool on_upgraded() override {
    welcomed_ = false;
    auth_refused_ = false;
    std::string json = "{\"type\":\"auth\",\"accessToken\":";
    append_json_string(json, config_.credential);
    json += ",\"client\":{\"name\":";
    append_json_string(json, config_.natterbox.client_name);
    json += ",\"version\":";
    append_json_string(json, config_.natterbox.client_version);
    json += "}}";
    host_.send_text(std::move(json));
    return false;
  }

  bool refused_by_close(std::uint16_t close_code) const override { return auth_refused_ || close_code == 4001; }

  std::vector<std::string> on_open() override {
    open_ = true;
    ++generation_;
    std::vector<std::string> resent;
    std::deque<command> again;
    for (const auto& p : confirmed_) {
      resent.push_back(p);
      again.push_back({true, p, next_request_++, true, false});
    }
    if (!again.empty()) again.back().last = true;
    // Subscribes never confirmed keep their place after the resubscribes.
    for (auto& c : queue_)
      if (c.subscribe && !c.resubscribe) again.push_back(std::move(c));
    queue_ = std::move(again);
    return resent;
  }

  void after_open() override { pump(); }

  bool on_lost(bool) override {
    if (!open_) return false;
    open_ = false;
    ++generation_;
    window_timer_.cancel();
    release_held();
    if (inflight_ && !inflight_->resubscribe && wanted_.count(inflight_->pattern)) {
      queue_.push_front(std::move(*inflight_));
    }
    inflight_.reset();
    // The next connection starts without subscriptions: unsubscribes are moot, resubscribes are
    // rebuilt by on_open.
    std::deque<command> keep;
    for (auto& c : queue_)
      if (c.subscribe && !c.resubscribe) keep.push_back(std::move(c));
    queue_ = std::move(keep);
    return false;
  }

  void on_teardown() override {
    if (open_) on_lost(false);
    ++generation_;
    window_timer_.cancel();
  }

  void append_name(std::string& out) const override { out += "\"natterbox\""; }

  // --- frames ---

  void release_memory() noexcept override { shrink_parser(parser_, 0); }

  void on_frame(const char* data, std::size_t size, std::size_t capacity) override {
    simdjson::dom::object obj;
    if (!natterbox_frame_object(parser_, data, size, capacity, host_, obj)) return;
    std::string_view type;
    if (obj["type"].get_string().get(type)) return host_.unknown("a frame without a string type");
    if (type == "tick") return on_tick(obj);
    if (type == "response") return on_response(obj);
    if (type == "error") return on_error(obj, std::string_view(data, size));
    host_.unknown("a frame of unknown type \"" + std::string(type.substr(0, 64)) + "\"");
  }

  // --- subscriptions ---

  void subscribe(std::vector<std::string> patterns, bool open) override {
    const std::size_t before = queue_.size();
    for (auto& p : patterns) {
      natterbox_pattern parsed;
      if (!parse_natterbox_pattern(p, parsed)) {
        push_answer(false, "subscribe", p, 0, "INVALID_TOPIC", "not a Natterbox presence pattern", {});
        continue;
      }
      if (!wanted_.insert(p).second) continue;
      queue_.push_back({true, p, next_request_++, false, false});
    }
    if (queue_.size() > before) queue_.back().last = true;
    if (open) pump();
  }

  void unsubscribe(std::vector<std::string> patterns, bool open) override {
    for (const auto& p : patterns) {
      const bool on_wire = confirmed_.count(p) || (inflight_ && inflight_->pattern == p);
      forget(p);
      if (open && on_wire) {
        queue_.push_back({false, p, next_request_++, false});
      } else {
        push_answer(true, "unsubscribe", p, next_request_++, {}, {}, {});
      }
    }
    if (open) pump();
  }

  void drop(const std::vector<std::string>& patterns) override {
    for (const auto& p : patterns) forget(p);
  }

 private:
  struct command {
    bool subscribe = true;
    std::string pattern;
    std::uint64_t request = 0;
    bool resubscribe = false;  // announced by the open record, not by a `sent` record
    bool last = true;          // the last of one subscribe() batch: its events go out after it
  };

  void forget(const std::string& p) {
    wanted_.erase(p);
    confirmed_.erase(p);
    members_.erase(p);
    std::deque<command> keep;
    for (auto& c : queue_)
      if (c.pattern != p || !c.subscribe) keep.push_back(std::move(c));
    queue_ = std::move(keep);
  }

  void pump() {
    while (open_ && !inflight_ && !queue_.empty()) {
      command c = std::move(queue_.front());
      queue_.pop_front();
      natterbox_pattern parsed;
      parse_natterbox_pattern(c.pattern, parsed);
      std::string frame = c.subscribe ? "{\"type\":\"subscribe\",\"path\":" : "{\"type\":\"unsubscribe\",\"path\":";
      append_json_string(frame, natterbox_path(parsed, config_.natterbox.seed_paths));
      frame += '}';
      host_.send_text(std::move(frame));
      if (!c.resubscribe) push_sent(c);
      if (!c.subscribe) {
        push_answer(true, "unsubscribe", c.pattern, c.request, {}, {}, {});
        continue;
      }
      window_members_.clear();
      const auto now = std::chrono::steady_clock::now();
      window_end_ = now + std::chrono::milliseconds(config_.natterbox.snapshot_window_ms);
      inflight_ = std::move(c);
      arm_window(now);
    }
  }

  void arm_window(std::chrono::steady_clock::time_point from) {
    const auto quiet = from + std::chrono::milliseconds(kQuietMs);
    window_timer_.expires_at(std::min(quiet, window_end_));
    window_timer_.async_wait([this, keep = host_.keep_alive(), generation = generation_](boost::system::error_code ec) {
      if (ec || generation != generation_ || !inflight_) return;
      close_window();
      host_.flush_events();
    });
  }

  // The snapshot window of the subscribe in flight is over: members, ack, then its events.
  void close_window() {
    command c = std::move(*inflight_);
    inflight_.reset();
    natterbox_pattern parsed;
    parse_natterbox_pattern(c.pattern, parsed);
    if (wanted_.count(c.pattern)) {
      confirmed_.insert(c.pattern);
      if (parsed.group) {
        std::vector<std::string> topics;
        for (const auto& u : window_members_) topics.push_back(user_topic(parsed.org, u));
        members_[c.pattern] = {parsed.org, window_members_};
        std::string json = "{\"type\":\"members\",\"pattern\":";
        append_json_string(json, c.pattern);
        json += ",\"topics\":";
        append_json_string_array(json, topics);
        json += '}';
        host_.push_control(json);
      }
    }
    push_answer(true, "subscribe", c.pattern, c.request, {}, {}, {});
    if (c.last || !subscribe_queued()) release_held();
    pump();
  }

  // Events read during the windows of one subscribe() batch wait for its last answer, so code
  // resuming after `await subscribe()` has attached its listeners when they arrive.
  bool subscribe_queued() const {
    return std::any_of(queue_.begin(), queue_.end(), [](const command& c) { return c.subscribe; });
  }

  void release_held() {
    held_.release(host_);
  }

  void on_tick(simdjson::dom::object& obj) {
    std::string_view message;
    if (welcomed_ || obj["message"].get_string().get(message) || message != "welcome") return;
    welcomed_ = true;
    host_.ready();
  }

  void on_error(simdjson::dom::object& obj, std::string_view raw) {
    std::string_view message;
    std::string_view path;
    if (obj["message"].get_string().get(message)) message = "the server reported an error";
    const bool has_path = !obj["path"].get_string().get(path);
    if (!welcomed_) {
      auth_refused_ = true;
      return host_.refuse_credential("the server refused the credential: " + std::string(message));
    }
    natterbox_pattern parsed;
    if (has_path && parse_natterbox_path(path, parsed)) {
      const std::string pattern = natterbox_pattern_text(parsed);
      std::uint64_t request = 0;
      const bool in_window = inflight_ && inflight_->pattern == pattern;
      if (in_window) request = inflight_->request;
      if (in_window || wanted_.count(pattern)) {
        forget(pattern);
        push_answer(false, "subscribe", pattern, request, "PERMISSION_DENIED", message, raw);
        if (in_window) {
          const bool last = inflight_->last;
          inflight_.reset();
          window_timer_.cancel();
          if (last || !subscribe_queued()) release_held();
          pump();
        }
        return;
      }
    }
    std::string json = "{\"type\":\"fault\",\"error\":{\"code\":\"PROTOCOL_ERROR\",\"message\":";
    append_json_string(json, "the server reported an error: " + std::string(message));
    json += "}}";
    host_.push_control(json);
  }

  void on_response(simdjson::dom::object& obj) {
    simdjson::dom::array elements;
    if (obj["data"].get_array().get(elements)) return host_.malformed("a response without a data array");
    const std::string timestamp = natterbox_now_iso();
    const bool group_window = inflight_ && is_group(inflight_->pattern);
    for (simdjson::dom::element el : elements) {
      simdjson::dom::object e;
      if (el.get_object().get(e)) {
        host_.malformed("a response element that is not an object");
        continue;
      }
      std::string user;
      if (!user_id(e, user)) {
        host_.malformed("a response element without a decimal userId");
        continue;
      }
      host_.count_received();
      if (group_window) window_members_.insert(user);
      const std::string* org = covering_org(user);
      if (!org) {
        host_.count_filtered();
        continue;
      }
      presence_book::element fields;
      std::string_view sv;
      std::int64_t n = 0;
      if (!e["presence"].get_string().get(sv)) {
        if (!known_presence(sv)) host_.unknown("an unknown presence value \"" + std::string(sv.substr(0, 32)) + "\"");
        fields.presence = std::string(sv);
      }
      if (!e["availability"].get_string().get(sv)) fields.availability = std::string(sv);
      if (!e["availabilityStateId"].get_int64().get(n)) fields.availability_state_id = n;
      const presence_book::change c = book_.apply(user, fields);
      const std::string topic = user_topic(*org, user);
      const std::string data = simdjson::minify(el);
      emit("presence_updated", topic, timestamp, data);
      if (!c.presence_event.empty() && known_presence(*fields.presence)) emit(c.presence_event, topic, timestamp, data);
      if (c.availability) emit("availability_changed", topic, timestamp, data);
    }
    if (inflight_) arm_window(std::chrono::steady_clock::now());
  }

  void emit(const std::string& type, const std::string& topic, const std::string& timestamp, const std::string& data) {
    if (inflight_ || !held_.empty()) {
      held_.hold(type, topic, timestamp, data);
    } else {
      host_.push_event(type, topic, timestamp, data);
    }
  }

  static bool is_group(const std::string& pattern) { return pattern.find(":group:") != std::string::npos; }

  static bool user_id(simdjson::dom::object& e, std::string& out) {
    std::int64_t n = 0;
    if (!e["userId"].get_int64().get(n)) {
      if (n < 0) return false;
      out = std::to_string(n);
      return true;
    }
    std::string_view s;
    return !e["userId"].get_string().get(s) && natterbox_id(s, out);
  }

  // The org under which a user's events are reported: a user pattern, a group's members, or the
  // group whose snapshot window is open. Null when nothing covers the user.
  const std::string* covering_org(const std::string& user) {
    if (inflight_) {
      natterbox_pattern p;
      parse_natterbox_pattern(inflight_->pattern, p);
      if (p.group || p.id == user) {
        window_org_ = p.org;
        return &window_org_;
      }
    }
    for (const auto& w : wanted_) {
      natterbox_pattern p;
      if (parse_natterbox_pattern(w, p) && !p.group && p.id == user && confirmed_.count(w)) {
        window_org_ = p.org;
        return &window_org_;
      }
    }
    for (const auto& [pattern, m] : members_) {
      if (m.users.count(user)) return &m.org;
    }
    return nullptr;
  }

  void push_sent(const command& c) {
    std::string json = c.subscribe ? "{\"type\":\"sent\",\"action\":\"subscribe\",\"topics\":"
                                   : "{\"type\":\"sent\",\"action\":\"unsubscribe\",\"topics\":";
    append_json_string_array(json, {c.pattern});
    json += ",\"request\":";
    json += std::to_string(c.request);
    json += '}';
    host_.push_control(json);
  }

  // An ack (ok) or error record for one pattern; `request` 0 = none.
  void push_answer(bool ok, std::string_view action, const std::string& pattern, std::uint64_t request,
                   std::string_view code, std::string_view message, std::string_view raw) {
    std::string json = ok ? "{\"type\":\"ack\",\"action\":" : "{\"type\":\"error\",\"action\":";
    append_json_string(json, action);
    json += ",\"topics\":";
    append_json_string_array(json, {pattern});
    if (request) {
      json += ",\"request\":";
      json += std::to_string(request);
    }
    if (!ok) {
      json += ",\"code\":";
      append_json_string(json, code);
      json += ",\"message\":";
      append_json_string(json, message);
      if (!raw.empty()) {
        json += ",\"raw\":";
        append_json_string(json, raw);
      }
    }
    json += ",\"synthetic\":true}";
    host_.push_server(json);
  }

  struct group_members {
    std::string org;
    std::set<std::string> users;
  };

  const client_config& config_;
  protocol_host& host_;
  asio::steady_timer window_timer_;
  simdjson::dom::parser parser_;
  presence_book book_;
  bool open_ = false;
  bool welcomed_ = false;
  bool auth_refused_ = false;
  std::uint64_t generation_ = 0;
  std::uint64_t next_request_ = 1;
  std::set<std::string> wanted_;     // every pattern JS holds
  std::set<std::string> confirmed_;  // acknowledged once: resent after a reconnect
  std::map<std::string, group_members> members_;  // group pattern -> its members
  std::deque<command> queue_;
  std::optional<command> inflight_;  // the subscribe whose snapshot window is open
  std::set<std::string> window_members_;
  std::chrono::steady_clock::time_point window_end_;
  held_events held_;
  std::string window_org_;
};

}  // namespace

std::unique_ptr<protocol> make_natterbox_cti(const detail::strand_type& strand, const client_config& config,
                                             protocol_host& host) {
  return std::make_unique<natterbox_cti>(strand, config, host);
}

}  // namespace vr
