// One WebSocket connection after the upgrade: RFC 6455 framing by hand (so that faults such as
// "no pong" or "close without a close frame" are exact, and so that pre-encoded event frames go
// out in gathered writes), a bounded write queue, and the subscription rules of both dialects.
// Every member function except the public posting ones runs on the session's strand.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include <boost/asio/post.hpp>

#include "core/codec.h"
#include "emulator/state.h"

namespace vr::emu::detail {

namespace {

constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t max_gather_items = 256;
constexpr std::size_t max_gather_bytes = 256 * 1024;
constexpr std::size_t blast_window = 512;
constexpr std::size_t blast_cycle_max_bytes = 128 * 1024;
constexpr auto close_wait = std::chrono::milliseconds(1000);

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

void append_topics(std::string& out, const std::vector<std::string>& topics) {
  out += '[';
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (i) out += ',';
    vr::append_json_string(out, topics[i]);
  }
  out += ']';
}

std::string close_payload(std::uint16_t code) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xff);
  return p;
}

}  // namespace

// ---- live prefixes ----

bool prefix_set::add(std::string_view prefix) {
  if (!prefixes_.emplace(prefix).second) return false;
  ++lengths_[prefix.size()];
  return true;
}

bool prefix_set::remove(std::string_view prefix) {
  auto it = prefixes_.find(prefix);
  if (it == prefixes_.end()) return false;
  prefixes_.erase(it);
  auto len = lengths_.find(prefix.size());
  if (--len->second == 0) lengths_.erase(len);
  return true;
}

bool prefix_set::matches(std::string_view topic) const {
  for (const auto& [len, n] : lengths_) {
    if (len > topic.size()) return false;
    if (prefixes_.find(topic.substr(0, len)) != prefixes_.end()) return true;
  }
  return false;
}

session_base::session_base(std::shared_ptr<server_state> st, asio::any_io_executor ex)
    : state_(std::move(st)), ex_(ex), id_(state_->next_session_id++), tick_(ex), close_timer_(ex), pace_timer_(ex) {}

session_base::~session_base() = default;

// ---- posted entry points (any thread) ----

void session_base::deliver(std::shared_ptr<const publication> pub) {
  asio::post(ex_, [self = shared_from_this(), pub = std::move(pub)] {
    if (self->closed_ || self->close_sent_) return;
    if (self->state_->opts.dialect == wire_dialect::natterbox) {
      for (auto& r : pub->routes) {
        if (self->nb_subs_.count(r.topic)) {
          self->enqueue_event(r.wire);
          return;
        }
      }
      return;
    }
    if (self->state_->opts.dialect == wire_dialect::documented) {
      for (auto& r : pub->routes) {
        if (self->patterns_.matches(r.topic)) {
          self->enqueue_event(r.wire);
          return;
        }
      }
      return;
    }
    for (auto& r : pub->routes)
      if (self->prefixes_.matches(r.topic)) self->enqueue_event(r.wire);
  });
}

void session_base::inject(fault_kind kind, fault_args args) {
  asio::post(ex_, [self = shared_from_this(), kind, args = std::move(args)] {
    if (self->closed_) return;
    switch (kind) {
      case fault_kind::malformed:
        self->send_control(encode_frame(0x1, args.text.empty() ? std::string_view("{\"event_type\":\"call.status\",\"timestamp\":")
                                                                : std::string_view(args.text)));
        break;
      case fault_kind::binary:
        self->send_control(encode_frame(0x2, args.text.empty() ? std::string_view("\x00\x01\x02\x03", 4)
                                                                : std::string_view(args.text)));
        break;
      case fault_kind::oversized: {
        const std::string id = "0f0f0f0f-0000-4000-8000-000000000001";
        std::string data = "{\"id\":\"" + id + "\",\"customer_id\":\"" + self->who_.customer_id + "\",\"padding\":\"";
        std::string tail = "\"}";
        std::string frame;
        if (self->state_->opts.dialect == wire_dialect::documented) {
          frame = "{\"event_type\":\"call.status\",\"timestamp\":\"2024-01-15T10:30:05.000000Z\",\"topic\":\"customer_id:" +
                  self->who_.customer_id + ":call:" + id + "\",\"data\":" + data;
          tail += "}";
        } else {
          frame = data;
        }
        std::size_t want = args.size > frame.size() + tail.size() ? args.size - frame.size() - tail.size() : 0;
        frame.append(want, 'x');
        frame += tail;
        self->send_control(encode_frame(0x1, frame));
        break;
      }
      case fault_kind::drop:
        self->close_transport("fault: drop");
        break;
      default:
        break;
    }
  });
}

void session_base::resume() {
  asio::post(ex_, [self = shared_from_this()] {
    if (self->closed_ || self->state_->stall) return;
    self->last_alive_ = clock::now();
    if (self->read_paused_) {
      self->read_paused_ = false;
      self->process_input();
      self->read_next();
    }
    self->write_next();
  });
}

void session_base::start_blast(std::shared_ptr<blast_plan> plan) {
  asio::post(ex_, [self = shared_from_this(), plan = std::move(plan)] {
    if (self->closed_ || !self->open_ || self->close_sent_ || self->blast_) return plan->done();
    std::vector<std::shared_ptr<const std::string>> frames;
    const auto dialect = self->state_->opts.dialect;
    for (auto& pub : plan->pool) {
      if (plan->unfiltered) {
        // One copy of each event, on its first route, whether or not anything matches it.
        if (!pub->routes.empty()) frames.push_back(pub->routes.front().wire);
        continue;
      }
      for (auto& r : pub->routes) {
        if (dialect == wire_dialect::natterbox) {
          // As deliver(): one copy, for the first subscribed user or group topic.
          if (self->nb_subs_.count(r.topic)) {
            frames.push_back(r.wire);
            break;
          }
          continue;
        }
        if (dialect == wire_dialect::documented) {
          if (self->patterns_.matches(r.topic)) {
            frames.push_back(r.wire);
            break;
          }
          continue;
        }
        if (self->prefixes_.matches(r.topic)) frames.push_back(r.wire);
      }
    }
    if (frames.empty() || plan->count == 0) return plan->done();
    plan->connections++;
    self->blast_ = std::move(plan);
    self->blast_frames_ = std::move(frames);
    self->blast_pos_ = 0;
    self->blast_left_ = self->blast_->count;
    self->blast_queued_ = 0;
    self->blast_events_ = 0;
    self->blast_bytes_ = 0;
    self->blast_released_ = 0;
    self->blast_stamp_at_.clear();
    self->blast_cycle_.reset();
    std::size_t cycle_bytes = 0;
    for (const auto& f : self->blast_frames_) cycle_bytes += f->size();
    if (self->blast_->rate <= 0 && cycle_bytes <= blast_cycle_max_bytes) {
      auto cycle = std::make_shared<std::string>();
      cycle->reserve(cycle_bytes);
      for (const auto& f : self->blast_frames_) cycle->append(*f);
      self->blast_cycle_ = std::move(cycle);
    }
    if (self->blast_->rate > 0) {
      const std::string slot = sent_slot_placeholder();
      for (auto& f : self->blast_frames_) {
        auto at = f->find(slot);
        self->blast_stamp_at_.push_back(at == std::string::npos ? at : at + sent_slot_key.size());
      }
    }
    self->blast_start_ = clock::now();
    self->write_next();
  });
}

void session_base::close(bool abrupt, std::uint16_t code) {
  asio::post(ex_, [self = shared_from_this(), abrupt, code] {
    if (self->closed_) return;
    // The live server's teardown is always a bare TCP close.
    if (abrupt || self->state_->opts.dialect == wire_dialect::live || !self->open_)
      return self->close_transport("disconnect");
    self->begin_close(code);
  });
}

// ---- lifecycle ----

bool session_base::upgrading(principal who) {
  who_ = std::move(who);
  // A messages socket was authorised by its upgrade: no `auth` frame, no auth deadline.
  if (who_.natterbox_messages) nb_authed_ = true;
  // Registered before the 101 goes out, so that anything aimed at every connection after the
  // peer sees the upgrade (publish, faults, disconnectAll) reaches this one too. The 101 counts
  // as the write in flight: whatever is queued meanwhile follows it on the wire.
  if (!state_->add_session(shared_from_this())) {
    closed_ = true;
    close_socket();
    return false;
  }
  open_ = true;
  writing_ = true;
  state_->connections++;
  state_->connections_total++;
  std::string rec = "{\"type\":\"connection\",\"connection\":" + std::to_string(id_) + ",\"customerId\":";
  vr::append_json_string(rec, who_.customer_id);
  rec += ",\"agentId\":";
  if (who_.agent_id.empty())
    rec += "null";
  else
    vr::append_json_string(rec, who_.agent_id);
  rec += who_.access_key ? ",\"accessKey\":true" : ",\"accessKey\":false";
  rec += ",\"tokenIn\":";
  if (who_.token_in)
    vr::append_json_string(rec, who_.token_in);
  else
    rec += "null";
  rec += '}';
  state_->notify(std::move(rec));
  return true;
}

void session_base::opened(const error_code& ec, std::string_view leftover) {
  writing_ = false;
  if (closed_) return;
  if (ec) return close_transport("upgrade write error");
  rbuf_.resize(std::max(read_chunk, leftover.size() * 2));
  std::memcpy(rbuf_.data(), leftover.data(), leftover.size());
  rend_ = leftover.size();
  state_->bytes_received += leftover.size();
  last_alive_ = clock::now();
  last_ping_ = last_alive_;
  nb_opened_ = last_alive_;
  arm_tick();
  write_next();
  if (state_->stall) {
    read_paused_ = true;
    return;
  }
  process_input();
  read_next();
}

void session_base::close_transport(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  tick_.cancel();
  close_timer_.cancel();
  pace_timer_.cancel();
  close_socket();
  if (!open_) return;
  state_->connections--;
  const auto d = state_->opts.dialect;
  state_->subscriptions -= d == wire_dialect::documented ? patterns_.size()
                           : d == wire_dialect::natterbox ? nb_subs_.size()
                                                          : prefixes_.size();
  std::string rec = "{\"type\":\"close\",\"connection\":" + std::to_string(id_) + ",\"reason\":";
  vr::append_json_string(rec, reason);
  rec += '}';
  state_->notify(std::move(rec));
  if (blast_) finish_blast();
  state_->remove_session(id_);
}

// ---- reading ----

void session_base::read_next() {
  if (closed_ || reading_ || read_paused_ || close_received_) return;
  if (state_->stall) {
    read_paused_ = true;
    return;
  }
  if (rbegin_ == rend_) rbegin_ = rend_ = 0;
  if (rbegin_ > 0 && (rend_ == rbuf_.size() || rbegin_ >= rbuf_.size() / 2)) {
    std::memmove(rbuf_.data(), rbuf_.data() + rbegin_, rend_ - rbegin_);
    rend_ -= rbegin_;
    rbegin_ = 0;
  }
  if (rend_ == rbuf_.size()) rbuf_.resize(rbuf_.size() * 2);
  reading_ = true;
  do_read(asio::buffer(rbuf_.data() + rend_, rbuf_.size() - rend_));
}

void session_base::on_read(const error_code& ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) return close_transport(ec == asio::error::eof ? "client closed the socket" : "read error");
  rend_ += n;
  state_->bytes_received += n;
  if (state_->stall) {
    read_paused_ = true;
    return;
  }
  process_input();
  read_next();
}

void session_base::process_input() {
  const auto max = state_->opts.max_message;
  while (!closed_ && !close_received_) {
    auto* p = reinterpret_cast<unsigned char*>(rbuf_.data() + rbegin_);
    std::size_t avail = rend_ - rbegin_;
    ws::frame_header h;
    if (!ws::parse_header(p, avail, h)) return;
    const bool fin = h.fin;
    const std::uint8_t op = h.op;
    const std::uint64_t len = h.length;
    const std::size_t header = h.size;
    if (h.rsv) return close_transport("protocol error: reserved bits set");
    // RFC 6455 5.1: a server must close the connection when a client frame is not masked.
    if (!h.masked) return close_transport("protocol error: unmasked client frame");
    if (len > max || len + message_.size() > max) return close_transport("message too big");
    if (avail - header < len) {
      // Make room for the rest of this frame in one piece.
      std::size_t need = header + static_cast<std::size_t>(len);
      if (rbuf_.size() - rbegin_ < need) {
        std::memmove(rbuf_.data(), rbuf_.data() + rbegin_, avail);
        rend_ = avail;
        rbegin_ = 0;
        if (rbuf_.size() < need) rbuf_.resize(need);
      }
      return;
    }
    const unsigned char* mask = h.mask;
    char* payload = rbuf_.data() + rbegin_ + header;
    for (std::uint64_t i = 0; i < len; ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    rbegin_ += header + static_cast<std::size_t>(len);
    if (!handle_frame(op, fin, std::string_view(payload, static_cast<std::size_t>(len)))) return;
  }
}

bool session_base::handle_frame(std::uint8_t op, bool fin, std::string_view payload) {
  const bool documented = state_->opts.dialect == wire_dialect::documented;
  if (op >= 0x8) {
    if (!fin || payload.size() > 125) {
      close_transport("protocol error: bad control frame");
      return false;
    }
    switch (op) {
      case 0x8:
        close_received_ = true;
        if (close_sent_) {
          close_transport("closed");
        } else {
          out_.push_back({std::make_shared<const std::string>(encode_frame(0x8, payload.substr(0, 2))), item_kind::close});
          close_sent_ = true;
          write_next();
        }
        return false;
      case 0x9:
        if (documented) last_alive_ = clock::now();
        if (!state_->no_pong) send_control(encode_frame(0xA, payload));
        return true;
      case 0xA:
        state_->pongs_received++;
        last_alive_ = clock::now();
        return true;
      default:
        close_transport("protocol error: unknown opcode");
        return false;
    }
  }
  std::string_view complete;
  std::uint8_t complete_op = 0;
  if (op == 0x0) {
    if (!in_message_) {
      close_transport("protocol error: continuation without a message");
      return false;
    }
    message_.append(payload);
    if (!fin) return true;
    complete = message_;
    complete_op = message_op_;
    in_message_ = false;
  } else if (op == 0x1 || op == 0x2) {
    if (in_message_) {
      close_transport("protocol error: new message inside a fragmented one");
      return false;
    }
    if (!fin) {
      message_.assign(payload);
      message_op_ = op;
      in_message_ = true;
      return true;
    }
    complete = payload;
    complete_op = op;
  } else {
    close_transport("protocol error: unknown opcode");
    return false;
  }

  state_->messages_received++;
  if (documented) last_alive_ = clock::now();
  if (complete_op == 0x2) {
    if (!documented) {
      close_transport("binary frame");
      return false;
    }
    send_error("", {}, "INVALID_MESSAGE", "binary frames are not supported; send JSON text");
  } else {
    handle_text(complete);
  }
  if (!in_message_) message_.clear();
  return !closed_;
}

void session_base::handle_text(std::string_view text) {
  if (state_->opts.dialect == wire_dialect::documented)
    handle_documented(text);
  else if (state_->opts.dialect == wire_dialect::natterbox && who_.natterbox_messages)
    handle_natterbox_messages(text);
  else if (state_->opts.dialect == wire_dialect::natterbox)
    handle_natterbox(text);
  else
    handle_live(text);
}

// ---- documented dialect ----

bool session_base::allowed_documented(std::string_view pattern) const {
  vr::topic_parts parts;
  if (!vr::split_topic(pattern, parts)) return false;
  if (parts.scope == "customer_id") return (who_.admin || who_.manager) && parts.scope_id == who_.customer_id;
  return !who_.agent_id.empty() && parts.scope_id == who_.agent_id;
}

void session_base::handle_documented(std::string_view text) {
  simdjson::dom::element doc;
  if (parser_.parse(text.data(), text.size()).get(doc))
    return send_error("", {}, "INVALID_MESSAGE", "message is not valid JSON");
  if (!doc.is_object()) return send_error("", {}, "INVALID_MESSAGE", "message must be a JSON object");
  std::string_view type;
  if (doc["type"].get(type))
    return send_error("", {}, "INVALID_MESSAGE", "\"type\" must be \"subscribe\" or \"unsubscribe\"");
  const std::string action(type);
  if (type != "subscribe" && type != "unsubscribe")
    return send_error(action, {}, "INVALID_MESSAGE", "\"type\" must be \"subscribe\" or \"unsubscribe\"");
  simdjson::dom::array arr;
  std::vector<std::string> topics;
  bool shape_ok = !doc["topics"].get(arr);
  if (shape_ok) {
    for (auto item : arr) {
      std::string_view s;
      if (item.get(s)) {
        shape_ok = false;
        break;
      }
      topics.emplace_back(s);
    }
  }
  if (!shape_ok || topics.empty())
    return send_error(action, topics, "INVALID_MESSAGE", "\"topics\" must be a non-empty array of topic strings");

  if (state_->opts.rate_limit > 0) {
    auto now = clock::now();
    while (!sub_times_.empty() && now - sub_times_.front() >= std::chrono::seconds(1)) sub_times_.pop_front();
    if (sub_times_.size() >= state_->opts.rate_limit)
      return send_error(action, topics, "RATE_LIMITED",
                        "rate limit exceeded: at most " + std::to_string(state_->opts.rate_limit) +
                            " subscribe/unsubscribe messages per second");
    sub_times_.push_back(now);
  }

  const bool subscribe = action == "subscribe";
  std::vector<std::string> invalid, denied, accepted;
  // Views into `accepted`, which never reallocates (reserved for every topic): de-duplication
  // stays linear in the message, 50,000 topics included.
  accepted.reserve(topics.size());
  std::unordered_set<std::string_view> seen;
  seen.reserve(topics.size());
  std::string first_error;
  for (auto& t : topics) {
    std::string norm, why;
    if (!vr::normalize_pattern(t, norm, why)) {
      if (first_error.empty()) first_error = why;
      invalid.push_back(t);
      continue;
    }
    if (subscribe && !allowed_documented(norm)) {
      denied.push_back(t);
      continue;
    }
    if (seen.count(norm) != 0) continue;
    accepted.push_back(std::move(norm));
    seen.insert(accepted.back());
  }
  // One answer per message, as the client expects: an ack when every topic was accepted,
  // otherwise the error(s) naming the refused topics, the others being accepted silently.
  for (auto& t : accepted) {
    if (subscribe ? patterns_.add(t) : patterns_.remove(t)) {
      if (subscribe)
        state_->subscriptions++;
      else
        state_->subscriptions--;
    }
  }
  if (!invalid.empty()) send_error(action, invalid, "INVALID_TOPIC", first_error);
  if (!denied.empty())
    send_error(action, denied, "PERMISSION_DENIED", "You do not have permission to subscribe to this topic");
  if (invalid.empty() && denied.empty()) send_ack(action, accepted);
  if (!accepted.empty()) notify_topics(action, accepted);
}

// ---- live dialect ----

bool session_base::allowed_live(std::string_view topic) const {
  auto c1 = topic.find(':');
  if (c1 == std::string_view::npos) return false;
  auto scope = topic.substr(0, c1);
  auto rest = topic.substr(c1 + 1);
  auto scope_id = rest.substr(0, rest.find(':'));
  if (!vr::is_uuid(scope_id)) return false;
  const std::string id = lower(scope_id);
  if (scope == "customer_id") return (who_.admin || who_.manager) && id == who_.customer_id;
  if (scope == "agent_id") return !who_.agent_id.empty() && id == who_.agent_id;
  return false;
}

std::size_t session_base::apply_live(bool subscribe, const std::vector<std::string>& topics) {
  std::size_t changed = 0;
  for (auto& t : topics) {
    if (subscribe ? !prefixes_.add(t) : !prefixes_.remove(t)) continue;
    if (subscribe)
      state_->subscriptions++;
    else
      state_->subscriptions--;
    ++changed;
  }
  return changed;
}

void session_base::handle_live(std::string_view text) {
  // No acks and no errors: bad JSON or an unknown shape is ignored, a bad or forbidden topic
  // anywhere in the message closes the socket with nothing of the message applied.
  simdjson::dom::element doc;
  if (parser_.parse(text.data(), text.size()).get(doc) || !doc.is_object()) return;
  std::string_view type;
  if (doc["type"].get(type) || (type != "subscribe" && type != "unsubscribe")) return;
  simdjson::dom::array arr;
  if (doc["topics"].get(arr)) return;
  std::vector<std::string> topics;
  for (auto item : arr) {
    std::string_view s;
    if (item.get(s)) return;
    topics.emplace_back(s);
  }
  for (auto& t : topics) {
    if (!allowed_live(t)) return close_transport("invalid or forbidden topic");
  }
  const bool subscribe = type == "subscribe";
  apply_live(subscribe, topics);
  if (!topics.empty()) notify_topics(subscribe ? "subscribe" : "unsubscribe", topics);
}

void session_base::notify_topics(std::string_view type, const std::vector<std::string>& topics) {
  std::string rec = "{\"type\":";
  vr::append_json_string(rec, type);
  rec += ",\"connection\":" + std::to_string(id_) + ",\"topics\":";
  append_topics(rec, topics);
  rec += '}';
  state_->notify(std::move(rec));
}

// ---- writing ----

void session_base::send_control(std::string bytes) {
  if (closed_ || close_sent_) return;
  out_.push_back({std::make_shared<const std::string>(std::move(bytes)), item_kind::control});
  write_next();
}

void session_base::send_error(std::string_view action, const std::vector<std::string>& topics,
                              std::string_view code, std::string_view message) {
  std::string json = "{\"type\":\"error\",\"action\":";
  vr::append_json_string(json, action);
  json += ",\"topics\":";
  append_topics(json, topics);
  json += ",\"code\":";
  vr::append_json_string(json, code);
  json += ",\"message\":";
  vr::append_json_string(json, message);
  json += '}';
  state_->errors_sent++;
  send_control(encode_frame(0x1, json));
}

void session_base::send_ack(std::string_view action, const std::vector<std::string>& topics) {
  std::string json = "{\"type\":\"ack\",\"action\":";
  vr::append_json_string(json, action);
  json += ",\"topics\":";
  append_topics(json, topics);
  json += ",\"status\":\"success\"}";
  state_->acks_sent++;
  send_control(encode_frame(0x1, json));
}

void session_base::enqueue_event(const std::shared_ptr<const std::string>& wire) {
  if (events_queued_ >= state_->opts.buffer_size) {
    state_->events_dropped++;
    return;
  }
  out_.push_back({wire, item_kind::event});
  ++events_queued_;
  write_next();
}

void session_base::begin_close(std::uint16_t code, bool keep_queued) {
  if (close_sent_ || closed_) return;
  // Whatever has not started to go out is abandoned; the close frame goes next.
  std::size_t keep = keep_queued ? out_.size() : writing_ ? inflight_ : 0;
  while (out_.size() > keep) {
    auto kind = out_.back().kind;
    if (kind == item_kind::event) --events_queued_;
    if (kind == item_kind::blast) --blast_queued_;
    if (kind == item_kind::ping) ping_queued_ = false;
    out_.pop_back();
  }
  blast_left_ = 0;
  out_.push_back({std::make_shared<const std::string>(encode_frame(0x8, close_payload(code))), item_kind::close});
  close_sent_ = true;
  close_timer_.expires_after(close_wait * 2);
  close_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->close_transport("close handshake timed out");
  });
  write_next();
}

void session_base::pump_blast() {
  if (!blast_) return;
  const double rate = blast_->rate;
  if (rate <= 0) {
    const std::size_t pool = blast_frames_.size();
    while (blast_left_ > 0 && blast_queued_ < blast_window) {
      if (blast_cycle_ && blast_pos_ == 0 && blast_left_ >= pool) {
        out_.push_back({blast_cycle_, item_kind::blast, static_cast<std::uint32_t>(pool)});
        blast_left_ -= pool;
        ++blast_queued_;
        continue;
      }
      out_.push_back({blast_frames_[blast_pos_], item_kind::blast});
      if (++blast_pos_ == blast_frames_.size()) blast_pos_ = 0;
      --blast_left_;
      ++blast_queued_;
    }
    return;
  }
  // Paced: frame k is due at k / rate seconds after the start; whatever is due goes now (several
  // at once after a late wake-up or a slow write), stamped with this moment, the write follows.
  const auto now = clock::now();
  const double due = std::chrono::duration<double>(now - blast_start_).count() * rate;
  const std::uint64_t allowed = due >= 1e18 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(due) + 1;
  char stamp[sent_slot_width + 1];
  bool stamped = false;
  while (blast_left_ > 0 && blast_queued_ < blast_window && blast_released_ < allowed) {
    const auto& frame = blast_frames_[blast_pos_];
    const std::size_t at = blast_stamp_at_[blast_pos_];
    if (at == std::string::npos) {
      out_.push_back({frame, item_kind::blast});
    } else {
      if (!stamped) {
        const double ms = std::chrono::duration<double, std::milli>(now.time_since_epoch()).count();
        std::snprintf(stamp, sizeof stamp, "%*.6f", static_cast<int>(sent_slot_width), ms);
        stamped = true;
      }
      auto copy = std::make_shared<std::string>(*frame);
      copy->replace(at, sent_slot_width, stamp, sent_slot_width);
      out_.push_back({std::move(copy), item_kind::blast});
    }
    if (++blast_pos_ == blast_frames_.size()) blast_pos_ = 0;
    --blast_left_;
    ++blast_queued_;
    ++blast_released_;
  }
  // Waiting on the clock (not on the window, which on_write refills): wake when the next is due.
  if (blast_left_ > 0 && blast_released_ >= allowed) arm_pace();
}

void session_base::arm_pace() {
  if (pace_armed_) return;
  pace_armed_ = true;
  // Capped at a day ahead so that a tiny rate cannot overflow the clock's representation.
  const double in_s = std::min(static_cast<double>(blast_released_) / blast_->rate, 86400.0);
  const auto at = blast_start_ + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(in_s));
  pace_timer_.expires_at(at);
  pace_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    self->pace_armed_ = false;
    if (ec || self->closed_ || !self->blast_) return;
    // A write in flight pumps again when it completes; a stall pumps again on resume.
    self->write_next();
  });
}

void session_base::write_next() {
  if (writing_ || closed_ || state_->stall) return;
  if (!close_sent_) pump_blast();
  if (out_.empty()) return;
  wbufs_.clear();
  std::size_t bytes = 0;
  inflight_ = 0;
  for (auto& item : out_) {
    if (inflight_ > 0 && (inflight_ >= max_gather_items || bytes >= max_gather_bytes)) break;
    wbufs_.push_back(asio::buffer(*item.bytes));
    bytes += item.bytes->size();
    ++inflight_;
    if (item.kind == item_kind::close) break;
  }
  writing_ = true;
  do_write(wbufs_);
}

void session_base::on_write(const error_code& ec, std::size_t n) {
  writing_ = false;
  if (closed_) return;
  if (ec) return close_transport("write error");
  state_->bytes_sent += n;
  bool close_written = false;
  std::uint64_t events = 0;
  for (std::size_t i = 0; i < inflight_; ++i) {
    auto& item = out_.front();
    switch (item.kind) {
      case item_kind::event:
        ++events;
        --events_queued_;
        break;
      case item_kind::blast:
        events += item.events;
        blast_events_ += item.events;
        blast_bytes_ += item.bytes->size();
        --blast_queued_;
        break;
      case item_kind::ping:
        state_->pings_sent++;
        ping_queued_ = false;
        break;
      case item_kind::close:
        close_written = true;
        break;
      case item_kind::control:
        break;
    }
    out_.pop_front();
  }
  inflight_ = 0;
  state_->events_sent += events;
  if (close_written) {
    if (close_received_) return close_transport("closed");
    close_timer_.expires_after(close_wait);
    close_timer_.async_wait([self = shared_from_this()](const error_code& e) {
      if (!e) self->close_transport("close handshake timed out");
    });
    return;
  }
  if (blast_ && blast_left_ == 0 && blast_queued_ == 0) finish_blast();
  write_next();
}

void session_base::finish_blast() {
  auto plan = std::move(blast_);
  blast_.reset();
  if (pace_armed_) pace_timer_.cancel();
  blast_frames_.clear();
  blast_cycle_.reset();
  blast_stamp_at_.clear();
  blast_left_ = 0;
  plan->events += blast_events_;
  plan->bytes += blast_bytes_;
  plan->done();
}

// ---- keepalive ----

void session_base::arm_tick() {
  const auto& o = state_->opts;
  std::uint32_t period = o.ping_interval_ms;
  if (o.read_timeout_ms > 0 && (period == 0 || o.read_timeout_ms < period)) period = o.read_timeout_ms;
  // Natterbox: the auth deadline is checked by this tick too.
  if (o.dialect == wire_dialect::natterbox && !nb_authed_ && (period == 0 || period > kNatterboxAuthMs)) {
    period = kNatterboxAuthMs;
  }
  if (period == 0) return;
  tick_.expires_after(std::chrono::milliseconds(period));
  tick_.async_wait([self = shared_from_this()](const error_code& ec) { self->on_tick(ec); });
}

void session_base::on_tick(const error_code& ec) {
  if (ec || closed_) return;
  const auto& o = state_->opts;
  const auto now = clock::now();
  if (o.dialect == wire_dialect::natterbox && !nb_authed_ &&
      now - nb_opened_ >= std::chrono::milliseconds(kNatterboxAuthMs)) {
    return begin_close(4001);  // no auth in time
  }
  if (!state_->stall) {
    if (o.read_timeout_ms > 0 && now - last_alive_ >= std::chrono::milliseconds(o.read_timeout_ms)) {
      state_->timeouts++;
      return close_transport("read timeout");
    }
    if (o.ping_interval_ms > 0 && !ping_queued_ && !close_sent_ &&
        now - last_ping_ >= std::chrono::milliseconds(o.ping_interval_ms) - std::chrono::milliseconds(1)) {
      last_ping_ = now;
      // Natterbox keeps connections alive with ticks as well as pings.
      if (o.dialect == wire_dialect::natterbox && nb_authed_ && !who_.natterbox_messages) {
        out_.push_back({std::make_shared<const std::string>(encode_frame(0x1, "{\"type\":\"tick\"}")),
                        item_kind::control});
      }
      out_.push_back({std::make_shared<const std::string>(encode_frame(0x9, {})), item_kind::ping});
      ping_queued_ = true;
      write_next();
    }
  }
  arm_tick();
}

}  // namespace vr::emu::detail
