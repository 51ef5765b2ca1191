// vr::client's public calls (posted to the strand), the transport's callbacks, and the path every
// frame takes from the transport through the protocol into the queue for JS. The rest of the
// state machine is in client_lifecycle.cpp and client_records.cpp (see client_impl.h).
#include "core/client_impl.h"

#include <chrono>
#include <new>
#include <string>
#include <utility>

#include "core/codec.h"
#include "core/ws_frame.h"

namespace vr::client_detail {

// Any thread.
void client_impl::subscribe(std::vector<std::string> patterns) {
  post([p = std::move(patterns)](client_impl& c) mutable { c.do_subscribe(std::move(p)); });
}

// Any thread.
void client_impl::unsubscribe(std::vector<std::string> patterns) {
  post([p = std::move(patterns)](client_impl& c) mutable { c.do_unsubscribe(std::move(p)); });
}

// Any thread.
void client_impl::drop(std::vector<std::string> patterns) {
  post([p = std::move(patterns)](client_impl& c) {
    if (c.phase_ == phase::finished) return;
    c.proto_->drop(p);
  });
}

// Any thread.
void client_impl::set_target(std::string target, std::string credential) {
  post([t = std::move(target), k = std::move(credential)](client_impl& c) mutable {
    c.do_set_target(std::move(t), std::move(k));
  });
}

// Any thread.
void client_impl::token_failed(std::string code, std::string message) {
  post([code = std::move(code), message = std::move(message)](client_impl& c) mutable {
    c.do_token_failed(std::move(code), std::move(message));
  });
}

// Any thread.
void client_impl::refresh() {
  post([](client_impl& c) {
    if (c.phase_ != phase::open) return;
    c.lose_connection({});
  });
}

// Any thread (the JS thread after each batch).
void client_impl::resume_reading() {
  post([](client_impl& c) {
    // A resume posted before the last pause must not read past the bound.
    if (!c.paused_ || c.queue_.records() >= c.queue_.max_events()) return;
    c.paused_ = false;
    if ((c.phase_ == phase::open || c.phase_ == phase::handshake) && !c.reading_) c.read();
  });
}

// JS thread.
client_stats client_impl::stats() const {
  client_stats s;
  s.received = received_.load(std::memory_order_relaxed);
  s.filtered = filtered_.load(std::memory_order_relaxed);
  s.duplicates = duplicates_.load(std::memory_order_relaxed);
  s.malformed = malformed_.load(std::memory_order_relaxed);
  s.bytes_received = bytes_received_.load(std::memory_order_relaxed);
  s.reconnects = reconnects_.load(std::memory_order_relaxed);
  s.last_event_at = last_event_at_.load(std::memory_order_relaxed);
  const std::uint64_t pushed = pushed_.load(std::memory_order_acquire);
  s.queue_depth = queue_.depth();
  s.delivered = pushed > s.queue_depth ? pushed - s.queue_depth : 0;
  return s;
}

// transport_listener: io thread.
void client_impl::on_transport_connected(std::uint64_t generation, error_code ec, connect_stage stage) {
  if (generation != generation_ || phase_ != phase::connecting) return;
  if (ec) return fail_attempt(classify_connect_error(ec, stage));
  on_upgraded();
}

bool client_impl::on_transport_message(std::uint64_t generation, const char* data, std::size_t size, bool text) {
  if (generation != generation_ || !reading_phase()) return false;
  alive();
  bump(bytes_received_, size);
  on_frame(data, size, text);
  if (!paused_ && reading_phase()) return true;
  reading_ = false;
  stamp_last_event();
  flush_fault();
  queue_.publish();
  return false;
}

void client_impl::on_transport_failed(std::uint64_t generation, error_code ec) {
  if (generation != generation_) return;
  reading_ = false;
  if (phase_ == phase::handshake) return fail_handshake(classify_read_error(ec));
  if (phase_ != phase::open) return;
  lose_connection(classify_read_error(ec));
}

void client_impl::on_transport_written(std::uint64_t generation, error_code ec) {
  if (generation != generation_) return;
  write_in_flight_ = false;
  if (!writes_.empty()) writes_.pop_front();
  if (ec) {
    if (phase_ == phase::open) lose_connection({"CLOSED", "connection lost while writing: " + ec.message()});
    if (phase_ == phase::handshake) fail_attempt({"CONNECT_FAILED", "connection lost while writing: " + ec.message()});
    if (phase_ == phase::closing) finish(nullptr, 1000);
    return;
  }
  write_next();
}

void client_impl::on_transport_closed(std::uint64_t generation, error_code) {
  if (generation != generation_ || phase_ != phase::closing) return;
  finish(nullptr, 1000);
}

// A ping from the server proves it writes, not that it reads what we send: only a pong (or a
// message) counts as an answer to the heartbeat, and a peer that pings while our writes stall
// is caught by the write check in on_ping_timer.
void client_impl::on_transport_control(std::uint64_t generation, bool pong) {
  if (generation != generation_ || !pong) return;
  ping_outstanding_ = false;
  alive();
}

// The frames of a burst are staged; the burst ends when the transport has to wait for the
// network, and a lone event is handed over right then.
void client_impl::on_transport_starved(std::uint64_t generation) {
  if (generation != generation_) return;
  stamp_last_event();
  flush_fault();
  queue_.publish();
}

// Work that threw (std::bad_alloc in practice) left this connection in an unknown state: it
// is reported and replaced, never left silent. Without a connection (backoff, closing) the
// request that threw is reported as a warning; the retry or close timer carries on.
void client_impl::on_exception(const std::exception& e) noexcept {
  try {
    const std::string what = dynamic_cast<const std::bad_alloc*>(&e)
                                 ? std::string("out of memory on the io thread (") + e.what() + ")"
                                 : std::string("an io thread handler failed: ") + e.what();
    if (phase_ == phase::open) return lose_connection({"CLOSED", what + "; the connection was dropped"});
    if (phase_ == phase::connecting || phase_ == phase::handshake) {
      return fail_attempt({"CONNECT_FAILED", "the attempt failed: " + what});
    }
    std::string json = "{\"type\":\"warning\",\"message\":";
    append_json_string(json, "a request could not be carried out: " + what);
    json += '}';
    push_control(json);
  } catch (...) {
    // Out of memory again while reporting: the heartbeat still ends this connection.
  }
}

void client_impl::on_frame(const char* data, std::size_t size, bool text) {
  if (!text) {
    return push_fault("PROTOCOL_ERROR", "unexpected binary frame of " + std::to_string(size) + " bytes");
  }
  proto_->on_frame(data, size, size + ws::message_reader::kPadding);
  // A frame this large (the answer to a bulk subscribe) grew the parsers and the decoded
  // topic list to many times its size. Once the handlers queued so far have run, nothing
  // refers to it: those buffers go back, then the free pages.
  if (size >= kBulkAnswerBytes) {
    asio::post(strand_, [self = shared_from_this()] {
      self->proto_->release_memory();
      release_free_memory();
    });
  }
}

void client_impl::flush_events() {
  stamp_last_event();
  queue_.publish();
}

void client_impl::push_event(std::string_view event_type, std::string_view topic, std::string_view timestamp,
                  std::string_view data, std::string_view server_event_type,
                  std::string_view second_topic) {
  // The clock is read for the first event of a burst, every 256 events within a long one, and
  // when the burst ends.
  if (unstamped_++ == 0 || unstamped_ == 256) stamp_last_event(true);
  flush_fault();
  const bool room = queue_.stage_event(event_type, topic, timestamp, data, server_event_type, second_topic);
  // Counted once the event is in the queue (release, paired with stats()' acquire): stats() takes
  // delivered as pushed minus what is still queued, so counting first would report as delivered
  // an event no listener has had yet.
  bump(pushed_, 1, std::memory_order_release);
  if (!room) pause();
}

void client_impl::malformed(std::string reason) {
  bump(malformed_);
  push_fault("MALFORMED_EVENT", reason);
}

void client_impl::unknown(std::string reason) {
  bump(malformed_);
  std::string json = "{\"type\":\"warning\",\"message\":";
  append_json_string(json, "ignored " + reason);
  json += '}';
  // Made for a frame from the server, so bounded like the other records it causes.
  flush_fault();
  if (!queue_.push_control(json)) pause();
}

void client_impl::ready() {
  if (phase_ == phase::handshake) on_open();
}

void client_impl::refuse_credential(std::string message) {
  if (phase_ != phase::handshake) return;
  failure f{"AUTH_FAILED", std::move(message), 0, -1, true, true};
  fail_attempt(std::move(f));
}

// An ack or error for JS, from the server or made by the dialect. One that lists many topics
// ends a bulk subscribe or unsubscribe, whose transient copies (the message, the `sent`
// record, the dialect's bookkeeping) are freed by now: their pages go back once the handlers
// queued before it have run.
void client_impl::push_server(std::string_view json) {
  flush_fault();
  if (!queue_.push_server(json)) pause();
  if (json.size() >= kBulkAnswerBytes) asio::post(strand_, [] { release_free_memory(); });
}

// Every record for JS goes through here or push_server, so that a coalesced fault goes first
// and records keep their order. The client's own records (state, open, close, sent) follow
// its own actions, so they are bounded by those and do not stop the reads.
void client_impl::push_control(std::string_view json) {
  flush_fault();
  queue_.push_control(json);
}

void client_impl::do_subscribe(std::vector<std::string> patterns) {
  if (phase_ == phase::finished || phase_ == phase::closing || patterns.empty()) return;
  proto_->subscribe(std::move(patterns), phase_ == phase::open);
}

void client_impl::do_unsubscribe(std::vector<std::string> patterns) {
  if (phase_ == phase::finished || phase_ == phase::closing || patterns.empty()) return;
  proto_->unsubscribe(std::move(patterns), phase_ == phase::open);
}

// One outstanding write at a time (pings and the close frame included): a FIFO.
void client_impl::enqueue(write_kind kind, std::string text) {
  writes_.push_back({kind, std::move(text)});
  if (!write_in_flight_) write_next();
}

void client_impl::write_next() {
  if (writes_.empty() || !transport_) return;
  write_in_flight_ = true;
  auto& next = writes_.front();
  switch (next.kind) {
    case write_kind::text:
      return transport_->write_text(next.text);
    case write_kind::ping:
      return transport_->ping();
    case write_kind::close:
      // Completes through on_transport_closed; nothing is written after it.
      return transport_->close();
  }
}

// `within_burst`: more events of the same burst may follow without another stamp.
void client_impl::stamp_last_event(bool within_burst) noexcept {
  if (!within_burst && unstamped_ <= 1) {
    // Nothing arrived since the stamp of the burst's first event.
    unstamped_ = 0;
    return;
  }
  unstamped_ = within_burst ? 1 : 0;
  last_event_at_.store(
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count(),
      std::memory_order_relaxed);
}

// Repeats of one fault (the same code, back to back) become one record: the first one's
// message and how many there were. A server sending nothing but bad frames then costs JS one
// record per burst (or per kFaultsPerRecord), not one per frame.
void client_impl::push_fault(const char* code, std::string message) {
  if (fault_.count && fault_.code == code) {
    if (++fault_.count == kFaultsPerRecord) flush_fault();
    return;
  }
  flush_fault();
  fault_ = {code, std::move(message), 1};
}

void client_impl::flush_fault() {
  if (!fault_.count) return;
  failure f{fault_.code, fault_.message};
  f.count = fault_.count;
  if (fault_.count > 1) f.message += " (" + std::to_string(fault_.count) + " times)";
  std::string json = "{\"type\":\"fault\",\"error\":";
  append_error(json, f);
  json += '}';
  fault_.count = 0;
  if (!queue_.push_control(json)) pause();
}

}  // namespace vr::client_detail

namespace vr {

std::shared_ptr<client> client::create(io_runtime& runtime, client_config config, std::function<void()> wake) {
  return std::make_shared<client_detail::client_impl>(runtime, std::move(config), std::move(wake));
}

}  // namespace vr
