// The client's life cycle (client_impl.h): attempts (token, resolve, connect, upgrade, backoff),
// the open connection, the heartbeat, and closing.
#include "core/client_impl.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "core/codec.h"

namespace vr::client_detail {

// --- attempts --------------------------------------------------------------------------
void client_impl::do_start() {
  if (phase_ != phase::idle) return;
  begin_attempt();
}

void client_impl::begin_attempt() {
  phase_ = phase::connecting;
  was_open_ = false;
  push_state("connecting");
  if (config_.token_per_attempt) {
    awaiting_token_ = true;
    push_token_request(false);
    return;
  }
  resolve();
}

void client_impl::do_set_target(std::string target, std::string credential) {
  if (phase_ != phase::connecting || !awaiting_token_) return;
  awaiting_token_ = false;
  config_.target = std::move(target);
  if (!credential.empty()) config_.credential = std::move(credential);
  refused_.reset();
  resolve();
}

void client_impl::do_token_failed(std::string code, std::string message) {
  if (phase_ != phase::connecting || !awaiting_token_) return;
  awaiting_token_ = false;
  if (code.empty()) {
    if (refused_) {
      failure f = std::move(*refused_);
      refused_.reset();
      return end_attempt(std::move(f));
    }
    return end_attempt({"AUTH_FAILED", "no credential was provided for the connection attempt", 0, -1, true});
  }
  refused_.reset();
  const bool terminal = is_terminal_code(code);
  failure f{std::move(code), std::move(message), 0, -1, terminal};
  f.cause = "token";
  end_attempt(std::move(f));
}

void client_impl::resolve() {
  const std::uint64_t generation = ++generation_;
  if (config_.connect_timeout_ms) {
    connect_timer_.expires_after(std::chrono::milliseconds(config_.connect_timeout_ms));
    connect_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->generation_ ||
          (self->phase_ != phase::connecting && self->phase_ != phase::handshake)) {
        return;
      }
      self->fail_attempt({"CONNECT_TIMEOUT",
                          "no connection to " + self->config_.host + ":" + self->config_.port + " within " +
                              std::to_string(self->config_.connect_timeout_ms) + " ms"});
    });
  }
  resolver_.async_resolve(config_.host, config_.port,
                          [self = shared_from_this(), generation](error_code ec, tcp::resolver::results_type r) {
                            self->on_resolve(generation, ec, std::move(r));
                          });
}

void client_impl::on_resolve(std::uint64_t generation, error_code ec, tcp::resolver::results_type results) {
  if (generation != generation_ || phase_ != phase::connecting) return;
  if (ec) return fail_attempt({"CONNECT_FAILED", "could not resolve " + config_.host + ": " + ec.message()});
  std::weak_ptr<detail::transport_listener> listener = shared_from_this();
  if (config_.secure) {
    if (!tls_context_) {
      std::string error;
      tls_context_ = detail::make_tls_context(config_.tls, error);
      if (!tls_context_) return fail_attempt({"TLS_ERROR", error, 0, -1, true});
    }
    const std::string& name = config_.tls.servername.empty() ? config_.host : config_.tls.servername;
    transport_ = detail::make_tls_transport(strand_, listener, generation_, tls_context_, name,
                                            config_.tls.reject_unauthorized);
  } else {
    transport_ = detail::make_plain_transport(strand_, listener, generation_);
  }
  detail::upgrade_request request{host_header(config_), config_.target, {}, config_.user_agent,
                                  std::min(config_.max_payload, kMaxPayload)};
  proto_->prepare_upgrade(request);
  transport_->connect(results, request);
}

// A failed attempt (never open). With a per-attempt token a refused credential first goes
// back to JS, which may have a different one.
void client_impl::fail_attempt(failure f) {
  teardown_transport();
  // A credential refused after the upgrade is retried with fresh ones at most
  // kCredentialTries times in a row, the first included.
  const bool may_retry = f.status || ++credential_refusals_ < kCredentialTries;
  if (f.code == "AUTH_FAILED" && f.credential && may_retry && config_.token_per_attempt) {
    phase_ = phase::connecting;  // a refusal after the upgrade comes in the handshake phase
    refused_ = std::move(f);
    awaiting_token_ = true;
    push_token_request(true);
    return;
  }
  end_attempt(std::move(f));
}

// The attempt (or the connection) is over: schedule the next attempt or finish.
void client_impl::end_attempt(failure f, std::uint16_t code, std::string reason) {
  teardown_transport();
  awaiting_token_ = false;
  const bool retry = config_.reconnect.enabled && !f.terminal && backoff_.may_retry(retries_);
  if (!retry) return finish(&f, code, reason);
  const std::uint32_t attempt = ++retries_;
  double delay = backoff_.delay_for(attempt);
  if (f.retry_after > delay) delay = f.retry_after;
  if (f.code.empty()) delay = 0;  // a planned reconnect (refresh)
  push_close(code, reason, true, attempt, delay, &f);
  phase_ = phase::backoff;
  retry_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(delay)));
  retry_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->phase_ != phase::backoff) return;
    self->begin_attempt();
  });
}

// The upgrade succeeded: the protocol's post-upgrade exchange (if any) runs before the open.
void client_impl::on_upgraded() {
  if (proto_->on_upgraded()) return on_open();
  phase_ = phase::handshake;
  read();
}

// The socket ended during the post-upgrade exchange: a refused credential or a network failure.
void client_impl::fail_handshake(failure f) {
  const std::uint16_t code = transport_ ? transport_->close_code() : 0;
  if (proto_->refused_by_close(code)) {
    return refuse_credential("the server closed the connection with code " + std::to_string(code) +
                             " before it was ready");
  }
  f.message = "before the server was ready: " + f.message;
  fail_attempt(std::move(f));
}

void client_impl::on_open() {
  connect_timer_.cancel();
  phase_ = phase::open;
  was_open_ = true;
  arm_healthy();
  if (opened_once_) bump(reconnects_);
  opened_once_ = true;
  push_state("connected");
  credential_refusals_ = 0;
  const std::vector<std::string> patterns = proto_->on_open();
  std::string json = "{\"type\":\"open\",\"resubscribed\":";
  append_json_string_array(json, patterns);
  json += ",\"dialect\":";
  proto_->append_name(json);
  json += '}';
  push_control(json);
  proto_->after_open();
  if (config_.heartbeat_interval_ms) arm_ping();
  if (!reading_) read();
}

void client_impl::read() {
  reading_ = true;
  transport_->read();
}

// The attempt count starts over once the connection has stayed open for reset_after_ms, not
// at the upgrade: against a server that upgrades and drops, the delays keep growing instead
// of the whole fleet coming back every initialDelay.
void client_impl::arm_healthy() {
  if (config_.reconnect.reset_after_ms <= 0) {
    retries_ = 0;
    return;
  }
  healthy_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(config_.reconnect.reset_after_ms)));
  healthy_timer_.async_wait([self = shared_from_this(), generation = generation_](error_code ec) {
    if (ec || generation != self->generation_ || self->phase_ != phase::open) return;
    self->retries_ = 0;
  });
}

// An open connection ended without close() being called.
void client_impl::lose_connection(failure f) {
  // The live server refuses a topic with a bare TCP close; a close frame is something else.
  f.reported = proto_->on_lost(f.code == "CLOSED" && !(transport_ && transport_->close_code()));
  std::uint16_t code = f.code == "PAYLOAD_TOO_LARGE" ? 1009 : f.code == "PROTOCOL_ERROR" ? 1002 : 1006;
  std::string reason;
  if (transport_ && transport_->close_code()) {
    code = transport_->close_code();
    reason = transport_->close_reason();
  }
  end_attempt(std::move(f), code, std::move(reason));
}

void client_impl::arm_ping() {
  ping_timer_.expires_after(std::chrono::milliseconds(config_.heartbeat_interval_ms));
  ping_timer_.async_wait([self = shared_from_this(), generation = generation_](error_code ec) {
    if (ec || generation != self->generation_ || self->phase_ != phase::open) return;
    self->on_ping_timer();
  });
}

// Each tick opens a liveness window (any frame closes it). A ping goes out only when the
// previous one was answered and reading is not paused: a pong waits behind unread frames,
// and servers drop clients whose pongs pile up (the ws server's maxPendingAutoPongs).
void client_impl::on_ping_timer() {
  if (write_stalled()) {
    return lose_connection({"HEARTBEAT_TIMEOUT", "the server read nothing of what was sent for " +
                                                     std::to_string(config_.heartbeat_interval_ms) + " ms"});
  }
  if (!awaiting_pong_ && !paused_) {
    awaiting_pong_ = true;
    paused_since_ping_ = false;
    if (!ping_outstanding_) {
      ping_outstanding_ = true;
      enqueue(write_kind::ping);
    }
    arm_pong_deadline();
  }
  arm_ping();
}

// True when the same write has been waiting since the previous tick: the peer stopped reading
// (its pings may still arrive, so incoming frames cannot tell).
bool client_impl::write_stalled() {
  if (!transport_) return false;
  const bool waiting = transport_->write_waiting();
  const std::uint64_t written = transport_->frames_written();
  const bool stalled = waiting && stall_waiting_ && written == stall_written_;
  stall_waiting_ = waiting;
  stall_written_ = written;
  return stalled;
}

void client_impl::arm_pong_deadline() {
  pong_timer_.expires_after(std::chrono::milliseconds(config_.heartbeat_timeout_ms));
  pong_timer_.async_wait([self = shared_from_this(), generation = generation_](error_code ec) {
    if (ec || generation != self->generation_ || self->phase_ != phase::open) return;
    self->on_pong_deadline();
  });
}

void client_impl::on_pong_deadline() {
  if (!awaiting_pong_) return;
  // A window in which reading was paused proves nothing (the pong may be among the unread
  // frames): the peer gets another full window of actual reading.
  if (paused_ || paused_since_ping_) {
    paused_since_ping_ = paused_;
    return arm_pong_deadline();
  }
  lose_connection({"HEARTBEAT_TIMEOUT", "no pong or frame within " + std::to_string(config_.heartbeat_timeout_ms) +
                                            " ms of a ping"});
}

// --- closing ---------------------------------------------------------------------------
void client_impl::do_close() {
  switch (phase_) {
    case phase::finished:
    case phase::closing:
      return;
    case phase::open:
      phase_ = phase::closing;
      ping_timer_.cancel();
      pong_timer_.cancel();
      enqueue(write_kind::close);
      // The peer gets a bounded time to answer the close frame; then the socket is cut.
      close_timer_.expires_after(std::chrono::seconds(1));
      close_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec || self->phase_ != phase::closing) return;
        self->finish(nullptr, 1000);
      });
      return;
    case phase::idle:
    case phase::connecting:
    case phase::handshake:
    case phase::backoff:
      return finish(nullptr, 1000);
  }
}

// The final close record: after it nothing else is pushed.
void client_impl::finish(const failure* f, std::uint16_t code, const std::string& reason) {
  const bool was_open = was_open_;
  teardown_transport();
  retry_timer_.cancel();
  close_timer_.cancel();
  phase_ = phase::finished;
  awaiting_token_ = false;
  refused_.reset();
  push_close(code, reason, false, 0, 0, f, was_open);
}

void client_impl::teardown_transport() {
  ++generation_;
  proto_->on_teardown();
  connect_timer_.cancel();
  ping_timer_.cancel();
  pong_timer_.cancel();
  healthy_timer_.cancel();
  resolver_.cancel();
  if (transport_) {
    transport_->cut();
    transport_.reset();
  }
  writes_.clear();
  write_in_flight_ = false;
  reading_ = false;
  paused_ = false;
  awaiting_pong_ = false;
  ping_outstanding_ = false;
  stall_waiting_ = false;
  stall_written_ = 0;
}

}  // namespace vr::client_detail
