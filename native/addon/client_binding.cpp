// binding.Client (native/BINDING.md): copies the validated config into a vr::client_config,
// forwards commands to the io thread and delivers the client's queue to onBatch through one
// thread-safe function per client.
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "addon/addon_state.h"
#include "core/client.h"
#include "core/runtime.h"

namespace vr::addon {

namespace {

// The part of a Client shared by the JS wrapper, the thread-safe function's context and the
// environment's member list, so that whichever goes first leaves nothing dangling.
struct client_slot final : env_member {
  std::mutex tsfn_mutex;  // the io thread calls tsfn under it; null once released
  napi_threadsafe_function tsfn = nullptr;
  std::shared_ptr<vr::client> client;
  bool wrapper_alive = true;
  bool want_ref = true;
  bool active = false;  // from connect() until the final close record reached JS
  bool referenced = true;
  // JS thread. hold(): the consumer asked the reader to stay stopped once the queue fills; a
  // resume the queue asked for meanwhile is owed until hold(false).
  bool held = false;
  bool resume_owed = false;
  vr::batch batch;

  // io thread.
  void wake() {
    std::lock_guard<std::mutex> lock(tsfn_mutex);
    if (tsfn) napi_call_threadsafe_function(tsfn, nullptr, napi_tsfn_nonblocking);
  }

  // JS thread.
  void update_ref(napi_env env) {
    const bool wanted = want_ref && active;
    if (!tsfn || wanted == referenced) return;
    if (wanted) {
      napi_ref_threadsafe_function(env, tsfn);
    } else {
      napi_unref_threadsafe_function(env, tsfn);
    }
    referenced = wanted;
  }

  // JS thread.
  void release_tsfn(napi_threadsafe_function_release_mode mode) {
    napi_threadsafe_function t;
    {
      std::lock_guard<std::mutex> lock(tsfn_mutex);
      t = tsfn;
      tsfn = nullptr;
    }
    if (t) napi_release_threadsafe_function(t, mode);
  }

  // JS thread, at environment teardown, with the io thread joined.
  void on_env_teardown() noexcept override {
    release_tsfn(napi_tsfn_abort);
    client.reset();
  }
};

using slot_ptr = std::shared_ptr<client_slot>;

// Byte offset in UTF-8 `text` of UTF-16 offset `target`, continuing from (byte, unit).
std::size_t byte_offset(const std::string& text, std::size_t& byte, std::int64_t& unit, std::int64_t target) {
  while (unit < target && byte < text.size()) {
    const auto c = static_cast<unsigned char>(text[byte]);
    const std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    unit += len == 4 ? 2 : 1;
    byte += len;
  }
  return byte;
}

// True when the batch holds the client's final close record ({"type":"close",...,
// "willReconnect":false,...}); the JSON is made by client.cpp, whose string values are
// escaped, so the key cannot be imitated by a reason text.
bool holds_final_close(const vr::batch& b) {
  std::size_t byte = 0;
  std::int64_t unit = 0;
  for (std::size_t i = 0; i + vr::kMetaStride <= b.meta.size(); i += vr::kMetaStride) {
    if (b.meta[i] != vr::record_control) continue;
    std::size_t begin, end;
    if (b.ascii) {
      begin = static_cast<std::size_t>(b.meta[i + 1]);
      end = static_cast<std::size_t>(b.meta[i + 2]);
    } else {
      begin = byte_offset(b.text, byte, unit, b.meta[i + 1]);
      end = byte_offset(b.text, byte, unit, b.meta[i + 2]);
    }
    const std::string_view record = std::string_view(b.text).substr(begin, end - begin);
    if (record.starts_with("{\"type\":\"close\"") && record.find("\"willReconnect\":false") != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// JS thread. One onBatch call over records [first, last) of `b`, which span UTF-16 units
// [unit_begin, unit_end) = bytes [byte_begin, byte_end) of the text. Offsets are rebased so the
// call's string starts at 0. Returns false when the call could not be made.
bool call_on_batch(napi_env env, napi_value on_batch, const vr::batch& b, std::size_t first, std::size_t last,
                   std::int64_t unit_begin, std::size_t byte_begin, std::size_t byte_end) {
  napi_value argv[2];
  napi_value undefined;
  void* meta_data = nullptr;
  napi_value buffer;
  const std::size_t count = last - first;
  const std::size_t meta_bytes = count * sizeof(std::int32_t);
  const char* text = b.text.data() + byte_begin;
  const std::size_t size = byte_end - byte_begin;
  const bool built =
      (b.ascii ? napi_create_string_latin1(env, text, size, &argv[0])
               : napi_create_string_utf8(env, text, size, &argv[0])) == napi_ok &&
      napi_create_arraybuffer(env, meta_bytes, &meta_data, &buffer) == napi_ok &&
      napi_create_typedarray(env, napi_int32_array, count, buffer, 0, &argv[1]) == napi_ok &&
      napi_get_undefined(env, &undefined) == napi_ok;
  if (!built) return false;
  std::memcpy(meta_data, b.meta.data() + first, meta_bytes);
  if (unit_begin != 0) {
    auto* m = static_cast<std::int32_t*>(meta_data);
    const auto base = static_cast<std::int32_t>(unit_begin);
    for (std::size_t i = 0; i < count; i += vr::kMetaStride) {
      const int used = vr::record_slots(m[i]);
      for (int k = 1; k <= used; ++k) m[i + k] -= base;
    }
  }
  napi_value result;
  napi_call_function(env, undefined, on_batch, 2, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    // A throwing listener must surface with its own stack, not vanish inside the binding.
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  return true;
}

// JS thread: one wake-up drains everything queued so far, handed to onBatch one segment per call
// (at most batch::kMaxSegmentUnits of text each; a single record may exceed it).
void call_js(napi_env env, napi_value on_batch, void* context, void*) {
  if (!env) return;  // the function is being torn down
  client_slot& slot = **static_cast<slot_ptr*>(context);
  if (!slot.client) return;
  slot.client->queue().drain(slot.batch);
  const vr::batch& b = slot.batch;
  // A reader stopped by the full queue resumes as soon as the queue is drained, not after the
  // batch has been handled: the io thread then reads and parses the next batch while this
  // thread handles this one, instead of the two taking turns (when every event is read, one
  // whole queue of events at a time). The native queue keeps its bound. A reader held for
  // the dispatcher (or pause()) stays stopped.
  bool resume = b.reader_stopped;
  if (resume && !slot.held && slot.client) {
    slot.client->resume_reading();
    resume = false;
  }
  const bool final_close = holds_final_close(b);
  // One call per segment (native/core/batch.h): each string stays below V8's large-object size,
  // and the names shared inside a segment stay inside its string.
  const std::size_t records = b.meta.size();
  std::size_t byte = 0;
  std::int64_t unit = 0;
  for (std::size_t s = 0; slot.wrapper_alive && s < b.segments.size(); ++s) {
    const bool last_segment = s + 1 == b.segments.size();
    const std::size_t first = b.segments[s].record;
    const std::size_t last = last_segment ? records : b.segments[s + 1].record;
    const std::int64_t unit_begin = b.segments[s].unit;
    const std::int64_t unit_end = last_segment ? b.units : b.segments[s + 1].unit;
    std::size_t byte_begin, byte_end;
    if (b.ascii) {
      byte_begin = static_cast<std::size_t>(unit_begin);
      byte_end = static_cast<std::size_t>(unit_end);
    } else {
      byte_begin = byte_offset(b.text, byte, unit, unit_begin);
      byte_end = last_segment ? b.text.size() : byte_offset(b.text, byte, unit, unit_end);
    }
    // One handle scope per call: otherwise every call's string stays reachable until the whole
    // drain returns, and those strings surviving each scavenge made V8 grow its young generation
    // to the maximum (measured: new space 4 -> 32 MB over 1M events).
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) break;
    const bool called = call_on_batch(env, on_batch, b, first, last, unit_begin, byte_begin, byte_end);
    napi_close_handle_scope(env, scope);
    if (!called) break;
  }
  // Only a reader that was told to stop needs a resume: posting one after every batch woke the
  // io thread once more per batch (measured: about 2 of its 3 wake-ups at 20,000 events/s).
  slot.batch.clear();
  // Buffers grown by a burst or by one huge record (the `sent` record or the ack of a
  // 100,000-pattern subscribe is 9 MB) are not kept once the queue is idle; after a large one
  // the allocator's free pages go back too.
  if (slot.client && slot.client->queue().release_idle(slot.batch) >= vr::batch::kRetainTextBytes) {
    vr::release_free_memory();
  }
  if (final_close) {
    slot.active = false;
    slot.update_ref(env);
  }
  if (slot.client && resume) {
    if (slot.held) {
      slot.resume_owed = true;
    } else {
      slot.client->resume_reading();
    }
  }
}

// JS thread: the thread-safe function is gone (released, aborted or torn down with the env).
void finalize_tsfn(napi_env, void* data, void*) {
  auto* holder = static_cast<slot_ptr*>(data);
  {
    std::lock_guard<std::mutex> lock((*holder)->tsfn_mutex);
    (*holder)->tsfn = nullptr;
  }
  delete holder;
}

[[noreturn]] void bad_config(Napi::Env env, const std::string& key, const char* expected) {
  throw Napi::TypeError::New(env, std::string("Expected ") + expected + " for config." + key);
}

std::string get_string(Napi::Object o, const char* key, const std::string& path) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) bad_config(o.Env(), path + key, "a string");
  return v.As<Napi::String>().Utf8Value();
}

bool get_bool(Napi::Object o, const char* key, const std::string& path) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) bad_config(o.Env(), path + key, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

double get_number(Napi::Object o, const char* key, const std::string& path, bool allow_infinity = false) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) bad_config(o.Env(), path + key, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d) || d < 0 || (!allow_infinity && std::isinf(d))) {
    bad_config(o.Env(), path + key, "a non-negative finite number");
  }
  return d;
}

Napi::Object get_object(Napi::Object o, const char* key, const std::string& path) {
  Napi::Value v = o.Get(key);
  if (!v.IsObject()) bad_config(o.Env(), path + key, "an object");
  return v.As<Napi::Object>();
}

std::vector<std::string> get_strings(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string("Expected an array of strings for ") + name);
  auto array = v.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(array.Length());
  for (std::uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) throw Napi::TypeError::New(env, std::string("Expected an array of strings for ") + name);
    out.push_back(item.As<Napi::String>().Utf8Value());
  }
  return out;
}

vr::client_config read_config(Napi::Object c) {
  vr::client_config cfg;
  cfg.host = get_string(c, "host", "");
  cfg.port = get_string(c, "port", "");
  cfg.target = get_string(c, "target", "");
  cfg.secure = get_bool(c, "secure", "");
  Napi::Object tls = get_object(c, "tls", "");
  cfg.tls.reject_unauthorized = get_bool(tls, "rejectUnauthorized", "tls.");
  Napi::Value ca = tls.Get("ca");
  cfg.tls.ca = get_strings(c.Env(), ca, "config.tls.ca");
  cfg.tls.cert = get_string(tls, "cert", "tls.");
  cfg.tls.key = get_string(tls, "key", "tls.");
  cfg.tls.servername = get_string(tls, "servername", "tls.");
  cfg.connect_timeout_ms = static_cast<std::uint32_t>(std::min(get_number(c, "connectTimeout", ""), 4294967295.0));
  cfg.max_payload = std::min(static_cast<std::uint64_t>(get_number(c, "maxPayload", "")), vr::kMaxPayload);
  cfg.max_queue = static_cast<std::size_t>(std::max(1.0, get_number(c, "maxQueue", "")));
  cfg.heartbeat_interval_ms = static_cast<std::uint32_t>(std::min(get_number(c, "heartbeatInterval", ""), 4294967295.0));
  cfg.heartbeat_timeout_ms = static_cast<std::uint32_t>(std::min(get_number(c, "heartbeatTimeout", ""), 4294967295.0));
  Napi::Object r = get_object(c, "reconnect", "");
  cfg.reconnect.enabled = get_bool(r, "enabled", "reconnect.");
  cfg.reconnect.initial_delay_ms = get_number(r, "initialDelay", "reconnect.");
  cfg.reconnect.max_delay_ms = get_number(r, "maxDelay", "reconnect.");
  cfg.reconnect.factor = get_number(r, "factor", "reconnect.");
  cfg.reconnect.jitter = get_number(r, "jitter", "reconnect.");
  const double max_attempts = get_number(r, "maxAttempts", "reconnect.", true);
  cfg.reconnect.max_attempts = std::isinf(max_attempts) ? 0 : max_attempts;
  if (r.Has("resetAfter")) cfg.reconnect.reset_after_ms = get_number(r, "resetAfter", "reconnect.");
  cfg.seed = static_cast<std::uint64_t>(get_number(c, "seed", ""));
  cfg.token_per_attempt = get_bool(c, "tokenPerAttempt", "");
  const std::string dialect = get_string(c, "dialect", "");
  if (dialect == "documented") {
    cfg.wire_dialect = vr::dialect::documented;
  } else if (dialect == "live") {
    cfg.wire_dialect = vr::dialect::live;
  } else if (dialect == "auto") {
    cfg.wire_dialect = vr::dialect::automatic;
  } else {
    bad_config(c.Env(), "dialect", "'documented', 'live' or 'auto'");
  }
  cfg.settle_ms = static_cast<std::uint32_t>(std::min(get_number(c, "settleTime", ""), 4294967295.0));
  cfg.user_agent = get_string(c, "userAgent", "");
  // Optional: absent = VoIPBIN (docs/protocol-natterbox.md for 'natterbox').
  const std::string protocol = c.Has("protocol") ? get_string(c, "protocol", "") : std::string();
  if (protocol == "natterbox-messages") {
    cfg.protocol = vr::protocol_kind::natterbox_messages;
    cfg.credential = get_string(c, "credential", "");
    cfg.credential_header = get_bool(c, "credentialHeader", "");
  }
  if (protocol == "natterbox") {
    cfg.protocol = vr::protocol_kind::natterbox_cti;
    cfg.credential = get_string(c, "credential", "");
    Napi::Object n = get_object(c, "natterbox", "");
    cfg.natterbox.client_name = get_string(n, "clientName", "natterbox.");
    cfg.natterbox.client_version = get_string(n, "clientVersion", "natterbox.");
    cfg.natterbox.seed_paths = get_bool(n, "seedPaths", "natterbox.");
    cfg.natterbox.snapshot_window_ms =
        static_cast<std::uint32_t>(std::min(get_number(n, "snapshotWindow", "natterbox."), 4294967295.0));
  }
  return cfg;
}

class client_wrap : public Napi::ObjectWrap<client_wrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Client",
                       {
                           InstanceMethod<&client_wrap::connect>("connect"),
                           InstanceMethod<&client_wrap::subscribe>("subscribe"),
                           InstanceMethod<&client_wrap::unsubscribe>("unsubscribe"),
                           InstanceMethod<&client_wrap::drop>("drop"),
                           InstanceMethod<&client_wrap::set_target>("setTarget"),
                           InstanceMethod<&client_wrap::token_failed>("tokenFailed"),
                           InstanceMethod<&client_wrap::refresh>("refresh"),
                           InstanceMethod<&client_wrap::close>("close"),
                           InstanceMethod<&client_wrap::ref>("ref"),
                           InstanceMethod<&client_wrap::unref>("unref"),
                           InstanceMethod<&client_wrap::hold>("hold"),
                           InstanceMethod<&client_wrap::stats>("stats"),
                       });
  }

  explicit client_wrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<client_wrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "Expected (config: object, onBatch: function)");
    }
    vr::client_config config = read_config(info[0].As<Napi::Object>());
    addon_state& state = state_of(env);

    slot_ = std::make_shared<client_slot>();
    auto* holder = new slot_ptr(slot_);
    napi_value name;
    napi_create_string_utf8(env, "voip-realtime client", NAPI_AUTO_LENGTH, &name);
    napi_threadsafe_function tsfn = nullptr;
    napi_status status = napi_create_threadsafe_function(env, info[1], nullptr, name, 0, 1, holder, finalize_tsfn,
                                                         holder, call_js, &tsfn);
    if (status != napi_ok) {
      delete holder;
      throw Napi::Error::New(env, "could not create the thread-safe function");
    }
    slot_->tsfn = tsfn;
    slot_->update_ref(env);  // not active yet: unreferenced

    std::weak_ptr<client_slot> weak = slot_;
    slot_->client = vr::client::create(state.io(), std::move(config), [weak] {
      // io thread.
      if (auto slot = weak.lock()) slot->wake();
    });
    state.add_member(slot_);
  }

  // JS thread (garbage collection or environment teardown). A connected client is closed: JS
  // keeps active clients alive, so only an abandoned one gets here.
  ~client_wrap() override {
    slot_->wrapper_alive = false;
    if (slot_->client) slot_->client->close();
    slot_->release_tsfn(napi_tsfn_release);
  }

 private:
  vr::client* core(Napi::Env env) {
    if (!slot_->client) throw Napi::Error::New(env, "the environment is shutting down");
    return slot_->client.get();
  }

  Napi::Value connect(const Napi::CallbackInfo& info) {
    vr::client* c = core(info.Env());
    slot_->active = true;
    slot_->update_ref(info.Env());
    c->start();
    return info.Env().Undefined();
  }

  Napi::Value subscribe(const Napi::CallbackInfo& info) {
    core(info.Env())->subscribe(get_strings(info.Env(), info[0], "patterns"));
    return info.Env().Undefined();
  }

  Napi::Value unsubscribe(const Napi::CallbackInfo& info) {
    core(info.Env())->unsubscribe(get_strings(info.Env(), info[0], "patterns"));
    return info.Env().Undefined();
  }

  Napi::Value drop(const Napi::CallbackInfo& info) {
    core(info.Env())->drop(get_strings(info.Env(), info[0], "patterns"));
    return info.Env().Undefined();
  }

  Napi::Value set_target(const Napi::CallbackInfo& info) {
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "Expected a string for target");
    std::string credential;
    if (info.Length() > 1 && info[1].IsString()) credential = info[1].As<Napi::String>().Utf8Value();
    core(info.Env())->set_target(info[0].As<Napi::String>().Utf8Value(), std::move(credential));
    return info.Env().Undefined();
  }

  Napi::Value refresh(const Napi::CallbackInfo& info) {
    core(info.Env())->refresh();
    return info.Env().Undefined();
  }

  Napi::Value token_failed(const Napi::CallbackInfo& info) {
    if (!info[0].IsString() || !info[1].IsString()) {
      throw Napi::TypeError::New(info.Env(), "Expected (code: string, message: string)");
    }
    core(info.Env())->token_failed(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  }

  Napi::Value close(const Napi::CallbackInfo& info) {
    if (slot_->client) slot_->client->close();
    return info.Env().Undefined();
  }

  Napi::Value ref(const Napi::CallbackInfo& info) {
    slot_->want_ref = true;
    slot_->update_ref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value unref(const Napi::CallbackInfo& info) {
    slot_->want_ref = false;
    slot_->update_ref(info.Env());
    return info.Env().Undefined();
  }

  // hold(true): once the bounded queue fills, the io thread stops reading the socket (TCP pushes
  // back on the server) until hold(false); events already queued are still delivered.
  Napi::Value hold(const Napi::CallbackInfo& info) {
    slot_->held = info.Length() > 0 && info[0].ToBoolean().Value();
    if (!slot_->held && slot_->resume_owed) {
      slot_->resume_owed = false;
      if (slot_->client) slot_->client->resume_reading();
    }
    return info.Env().Undefined();
  }

  Napi::Value stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const vr::client_stats s = slot_->client ? slot_->client->stats() : vr::client_stats{};
    Napi::Object o = Napi::Object::New(env);
    o.Set("received", static_cast<double>(s.received));
    o.Set("filtered", static_cast<double>(s.filtered));
    o.Set("delivered", static_cast<double>(s.delivered));
    o.Set("dropped", static_cast<double>(s.dropped));
    o.Set("duplicates", static_cast<double>(s.duplicates));
    o.Set("malformed", static_cast<double>(s.malformed));
    o.Set("bytesReceived", static_cast<double>(s.bytes_received));
    o.Set("reconnects", static_cast<double>(s.reconnects));
    o.Set("queueDepth", static_cast<double>(s.queue_depth));
    o.Set("lastEventAt", s.last_event_at);
    return o;
  }

  slot_ptr slot_;
};

}  // namespace

void init_client(Napi::Env env, Napi::Object exports, addon_state& state) {
  Napi::Function ctor = client_wrap::define(env);
  state.client_ctor = Napi::Persistent(ctor);
  exports.Set("Client", ctor);
}

}  // namespace vr::addon
