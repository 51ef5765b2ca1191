// Natterbox CTI presence on the protocol seam; see natterbox_cti.h for the rules.
#include "core/natterbox_cti.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <set>
#include <unordered_map>

#include <boost/asio/steady_timer.hpp>
#include <simdjson.h>

#include "core/codec.h"

namespace vr {

namespace {

void append_user_topic(std::string& out, std::string_view org, std::string_view user) {
  out.append("org:").append(org).append(":user:").append(user).append(":presence");
}

std::string user_topic(std::string_view org, std::string_view user) {
  std::string topic;
  append_user_topic(topic, org, user);
  return topic;
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

  void release_memory() noexcept override {
    shrink_parser(parser_, 0);
    // What a frame of many elements grew.
    if (texts_.capacity() > 64) std::vector<element_text>().swap(texts_);
    if (minified_.capacity() > 4096) std::string().swap(minified_);
  }

  void on_frame(const char* data, std::size_t size, std::size_t capacity) override {
    simdjson::dom::object obj;
    if (!natterbox_frame_object(parser_, data, size, capacity, host_, obj)) return;
    std::string_view type;
    if (obj["type"].get_string().get(type)) return host_.unknown("a frame without a string type");
    if (type == "tick") return on_tick(obj);
    if (type == "response") return on_response(obj, std::string_view(data, size));
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
      cover_dirty_ = true;
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
    cover_dirty_ = true;
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
      cover_dirty_ = true;
      if (parsed.group) {
        std::vector<std::string> topics;
        for (const auto& u : window_members_) topics.push_back(user_topic(parsed.org, u));
        std::vector<std::uint64_t> ids;
        ids.reserve(window_members_.size());
        for (const auto& u : window_members_) {
          std::uint64_t id = 0;
          if (natterbox_decimal_id(u, id)) ids.push_back(id);
        }
        members_[c.pattern] = {parsed.org, std::move(ids)};
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

  // The fields of an element the protocol reads: the first of each name, as the DOM's lookup
  // finds it.
  struct element_fields {
    simdjson::dom::element user_id, presence, availability, availability_state_id;
    bool has_user_id = false, has_presence = false, has_availability = false, has_state_id = false;
  };

  static void read_fields(simdjson::dom::object& e, element_fields& f) {
    for (const auto field : e) {
      const std::string_view key = field.key;
      switch (key.size()) {
        case 6:
          if (!f.has_user_id && key == "userId") f.user_id = field.value, f.has_user_id = true;
          break;
        case 8:
          if (!f.has_presence && key == "presence") f.presence = field.value, f.has_presence = true;
          break;
        case 12:
          if (!f.has_availability && key == "availability") f.availability = field.value, f.has_availability = true;
          break;
        case 19:
          if (!f.has_state_id && key == "availabilityStateId") {
            f.availability_state_id = field.value;
            f.has_state_id = true;
          }
          break;
        default:
          break;
      }
    }
  }

  void on_response(simdjson::dom::object& obj, std::string_view frame) {
    simdjson::dom::array elements;
    if (obj["data"].get_array().get(elements)) return host_.malformed("a response without a data array");
    const std::string_view timestamp = clock_.now();
    // The pattern whose snapshot window is open covers its users (a group: every user).
    natterbox_pattern window;
    const bool in_window = inflight_ && parse_natterbox_pattern(inflight_->pattern, window);
    const bool group_window = in_window && window.group;
    const bool texts = response_element_texts(frame, texts_) && texts_.size() == elements.size();
    std::size_t index = 0;
    for (simdjson::dom::element el : elements) {
      const std::size_t at = index++;
      simdjson::dom::object e;
      if (el.get_object().get(e)) {
        host_.malformed("a response element that is not an object");
        continue;
      }
      element_fields f;
      read_fields(e, f);
      std::uint64_t user = 0;
      if (!f.has_user_id || !natterbox_user_id(f.user_id, user)) {
        host_.malformed("a response element without a decimal userId");
        continue;
      }
      // Both lookups below miss the cache once the users outgrow it: start them together.
      book_.prefetch(user);
      if (!cover_dirty_) covered_.prefetch(user);
      char digits[24];
      const std::string_view user_text(digits,
                                       static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, user).ptr - digits));
      host_.count_received();
      if (group_window) window_members_.emplace(user_text);
      const std::string* org = nullptr;
      if (in_window && (window.group || window.id == user_text)) {
        org = &window.org;
      } else {
        org = covering_org(user);
      }
      if (!org) {
        host_.count_filtered();
        continue;
      }
      presence_book::element fields;
      std::string_view sv;
      std::int64_t n = 0;
      if (f.has_presence && !f.presence.get_string().get(sv)) {
        if (!known_presence(sv)) host_.unknown("an unknown presence value \"" + std::string(sv.substr(0, 32)) + "\"");
        fields.presence = sv;
      }
      if (f.has_availability && !f.availability.get_string().get(sv)) fields.availability = sv;
      if (f.has_state_id && !f.availability_state_id.get_int64().get(n)) fields.availability_state_id = n;
      const presence_book::change c = book_.apply(user, fields);
      topic_.clear();
      append_user_topic(topic_, *org, user_text);
      std::string_view data;
      if (texts && texts_[at].minified) {
        data = texts_[at].text;
      } else {
        minified_ = simdjson::minify(el);
        data = minified_;
      }
      emit("presence_updated", topic_, timestamp, data);
      if (!c.presence_event.empty() && known_presence(*fields.presence)) emit(c.presence_event, topic_, timestamp, data);
      if (c.availability) emit("availability_changed", topic_, timestamp, data);
    }
    if (inflight_) arm_window(std::chrono::steady_clock::now());
  }

  void emit(std::string_view type, std::string_view topic, std::string_view timestamp, std::string_view data) {
    if (inflight_ || !held_.empty()) {
      held_.hold(std::string(type), std::string(topic), std::string(timestamp), std::string(data));
    } else {
      host_.push_event(type, topic, timestamp, data);
    }
  }

  // The org under which a user's events are reported outside a snapshot window: a user pattern
  // confirmed once (the first in pattern order), else the first group (in pattern order) whose
  // members include the user. Null when nothing covers the user.
  const std::string* covering_org(std::uint64_t user) {
    if (cover_dirty_) rebuild_cover();
    const std::uint32_t* org = covered_.find(user);
    return org ? &cover_orgs_[*org] : nullptr;
  }

  void rebuild_cover() {
    covered_.clear();
    cover_orgs_.clear();
    std::unordered_map<std::string, std::uint32_t> orgs;
    const auto org_index = [&](const std::string& org) {
      const auto [it, added] = orgs.try_emplace(org, static_cast<std::uint32_t>(cover_orgs_.size()));
      if (added) cover_orgs_.push_back(org);
      return it->second;
    };
    for (const auto& w : wanted_) {
      natterbox_pattern p;
      std::uint64_t id = 0;
      if (parse_natterbox_pattern(w, p) && !p.group && confirmed_.count(w) && natterbox_decimal_id(p.id, id)) {
        cover(id, org_index(p.org));
      }
    }
    for (const auto& [pattern, m] : members_) {
      const std::uint32_t org = org_index(m.org);
      for (const std::uint64_t u : m.users) cover(u, org);
    }
    cover_dirty_ = false;
  }

  // The first pattern to cover a user keeps it.
  void cover(std::uint64_t user, std::uint32_t org) {
    bool added = false;
    std::uint32_t& slot = covered_.get(user, added);
    if (added) slot = org;
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
    std::vector<std::uint64_t> users;
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
  receive_clock clock_;
  // Who is covered outside a snapshot window (covering_org), rebuilt when wanted_, confirmed_ or
  // members_ changed.
  id_table<std::uint32_t> covered_;  // user -> index in cover_orgs_
  std::vector<std::string> cover_orgs_;
  bool cover_dirty_ = true;
  // Buffers reused from element to element.
  std::vector<element_text> texts_;
  std::string topic_;
  std::string minified_;
};

}  // namespace

std::unique_ptr<protocol> make_natterbox_cti(const detail::strand_type& strand, const client_config& config,
                                             protocol_host& host) {
  return std::make_unique<natterbox_cti>(strand, config, host);
}

}  // namespace vr
