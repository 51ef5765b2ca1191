// binding.Emulator: a thin wrapper over vr::emu::emulator (see native/emulator/README.md).
// Notifications from the emulator's io threads reach JS through one thread-safe function,
// which is also what keeps the process alive while the emulator runs (ref/unref).
#include <node_api.h>

#include <stdexcept>

#include "addon/addon_state.h"
#include "emulator/emulator.h"

namespace vr::addon {

namespace {

std::string get_string(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<char>>();
    return std::string(b.Data(), b.Length());
  }
  return {};
}

double get_number(const Napi::Object& o, const char* key, double fallback) {
  auto v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

bool get_bool(const Napi::Object& o, const char* key, bool fallback) {
  auto v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

class emulator_wrap : public Napi::ObjectWrap<emulator_wrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Emulator",
                       {
                           InstanceMethod<&emulator_wrap::start>("start"),
                           InstanceMethod<&emulator_wrap::publish>("publish"),
                           InstanceMethod<&emulator_wrap::add_access_key>("addAccessKey"),
                           InstanceMethod<&emulator_wrap::natterbox_presence>("natterboxPresence"),
                           InstanceMethod<&emulator_wrap::natterbox_group>("natterboxGroup"),
                           InstanceMethod<&emulator_wrap::natterbox_messages>("natterboxMessages"),
                           InstanceMethod<&emulator_wrap::set_frozen>("setFrozen"),
                           InstanceMethod<&emulator_wrap::fault>("fault"),
                           InstanceMethod<&emulator_wrap::clear_faults>("clearFaults"),
                           InstanceMethod<&emulator_wrap::disconnect_all>("disconnectAll"),
                           InstanceMethod<&emulator_wrap::blast>("blast"),
                           InstanceMethod<&emulator_wrap::stats>("stats"),
                           InstanceMethod<&emulator_wrap::shutdown>("shutdown"),
                           InstanceMethod<&emulator_wrap::join>("join"),
                           InstanceMethod<&emulator_wrap::ref>("ref"),
                           InstanceMethod<&emulator_wrap::unref>("unref"),
                       });
  }

  // new Emulator(config, onNotify(json: string))
  explicit emulator_wrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<emulator_wrap>(info) {
    auto env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
      throw Napi::TypeError::New(env, "Emulator(config, onNotify) expects an object and a function");
    auto c = info[0].As<Napi::Object>();
    emu::options o;
    o.host = get_string(c, "host");
    if (o.host.empty()) o.host = "127.0.0.1";
    o.port = static_cast<std::uint16_t>(get_number(c, "port", 0));
    const std::string dialect = get_string(c, "dialect");
    o.dialect = dialect == "live"        ? emu::wire_dialect::live
                : dialect == "natterbox" ? emu::wire_dialect::natterbox
                                         : emu::wire_dialect::documented;
    if (o.dialect == emu::wire_dialect::natterbox && c.Get("natterbox").IsObject()) {
      auto n = c.Get("natterbox").As<Napi::Object>();
      o.natterbox.org = get_string(n, "org");
      o.natterbox.strict = get_bool(n, "strict", false);
      o.natterbox.per_member_snapshot = get_bool(n, "perMemberSnapshot", false);
      o.natterbox.silent_messages = get_bool(n, "silentMessages", false);
      if (n.Get("tokens").IsArray()) {
        auto list = n.Get("tokens").As<Napi::Array>();
        for (std::uint32_t i = 0; i < list.Length(); ++i)
          if (list.Get(i).IsString()) o.natterbox.tokens.push_back(list.Get(i).As<Napi::String>().Utf8Value());
      }
    }
    o.secret = get_string(c, "secret");
    o.tls_cert = get_string(c, "tlsCert");
    o.tls_key = get_string(c, "tlsKey");
    o.ping_interval_ms = static_cast<std::uint32_t>(get_number(c, "pingInterval", o.ping_interval_ms));
    o.read_timeout_ms = static_cast<std::uint32_t>(get_number(c, "readTimeout", o.read_timeout_ms));
    o.rate_limit = static_cast<std::uint32_t>(get_number(c, "rateLimit", o.rate_limit));
    o.upgrade_rate_limit = static_cast<std::uint32_t>(get_number(c, "upgradeRateLimit", o.upgrade_rate_limit));
    o.retry_after_s = static_cast<std::uint32_t>(get_number(c, "retryAfter", o.retry_after_s));
    o.buffer_size = static_cast<std::size_t>(get_number(c, "bufferSize", static_cast<double>(o.buffer_size)));
    o.live_wrapper = get_bool(c, "liveWrapper", false);
    o.max_message = static_cast<std::uint64_t>(get_number(c, "maxMessage", static_cast<double>(o.max_message)));
    o.threads = static_cast<unsigned>(get_number(c, "threads", 1));

    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "voip-realtime emulator", 0, 1);
    tsfn_live_ = true;
    auto tsfn = tsfn_;
    emu_ = std::make_unique<emu::emulator>(std::move(o), [tsfn](std::string json) mutable {
      // Io thread: hand the record to JS without waiting.
      auto* text = new std::string(std::move(json));
      auto status = tsfn.NonBlockingCall(text, [](Napi::Env env, Napi::Function cb, std::string* s) {
        std::unique_ptr<std::string> owned(s);
        if (env != nullptr && cb != nullptr) cb.Call({Napi::String::New(env, *owned)});
      });
      if (status != napi_ok) delete text;
    });
    // Registered after the thread-safe function, so at environment teardown this hook runs
    // first (hooks run in reverse order) and the io threads are joined before it goes away.
    env_ = env;
    napi_add_env_cleanup_hook(env, &emulator_wrap::on_env_teardown, this);
    hook_ = true;
  }

  ~emulator_wrap() override {
    if (hook_) napi_remove_env_cleanup_hook(env_, &emulator_wrap::on_env_teardown, this);
    hook_ = false;
    stop_now();
  }

 private:
  static void on_env_teardown(void* arg) {
    auto* self = static_cast<emulator_wrap*>(arg);
    self->hook_ = false;
    self->stop_now();
  }

  // JS thread: joins the io threads, then lets go of the thread-safe function.
  void stop_now() {
    if (emu_) emu_->join();
    if (tsfn_live_) {
      tsfn_live_ = false;
      tsfn_.Release();
    }
  }

  emu::emulator& checked(Napi::Env env) {
    if (!emu_ || !tsfn_live_) throw Napi::Error::New(env, "the emulator is stopped");
    return *emu_;
  }

  Napi::Value start(const Napi::CallbackInfo& info) {
    auto& e = checked(info.Env());
    try {
      e.start();
    } catch (const std::exception& ex) {
      throw Napi::Error::New(info.Env(), ex.what());
    }
    return Napi::Number::New(info.Env(), e.port());
  }

  // publish({ eventType, timestamp, topic, data, customerId, id, ownerType, ownerId })
  Napi::Value publish(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto& e = checked(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "publish expects an object");
    auto o = info[0].As<Napi::Object>();
    emu::event_input ev;
    ev.event_type = get_string(o, "eventType");
    ev.timestamp = get_string(o, "timestamp");
    ev.topic = get_string(o, "topic");
    ev.data = get_string(o, "data");
    ev.customer_id = get_string(o, "customerId");
    ev.id = get_string(o, "id");
    ev.owner_type = get_string(o, "ownerType");
    ev.owner_id = get_string(o, "ownerId");
    try {
      e.publish(ev);
    } catch (const std::exception& ex) {
      throw Napi::Error::New(env, ex.what());
    }
    return env.Undefined();
  }

  Napi::Value add_access_key(const Napi::CallbackInfo& info) {
    auto& e = checked(info.Env());
    e.add_access_key(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  }

  // natterboxPresence(org, user, stateJson, pushJson)
  Napi::Value natterbox_presence(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto& e = checked(env);
    for (int i = 0; i < 4; ++i)
      if (!info[i].IsString()) throw Napi::TypeError::New(env, "natterboxPresence(org, user, state, push) expects strings");
    try {
      e.natterbox_presence(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(),
                           info[2].As<Napi::String>().Utf8Value(), info[3].As<Napi::String>().Utf8Value());
    } catch (const std::exception& ex) {
      throw Napi::Error::New(env, ex.what());
    }
    return env.Undefined();
  }

  // natterboxMessages(org, user, pushJson)
  Napi::Value natterbox_messages(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto& e = checked(env);
    for (int i = 0; i < 3; ++i)
      if (!info[i].IsString()) throw Napi::TypeError::New(env, "natterboxMessages(org, user, push) expects strings");
    try {
      e.natterbox_messages(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(),
                           info[2].As<Napi::String>().Utf8Value());
    } catch (const std::exception& ex) {
      throw Napi::Error::New(env, ex.what());
    }
    return env.Undefined();
  }

  // natterboxGroup(org, group, users: string[])
  Napi::Value natterbox_group(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto& e = checked(env);
    if (!info[0].IsString() || !info[1].IsString() || !info[2].IsArray())
      throw Napi::TypeError::New(env, "natterboxGroup(org, group, users) expects two strings and an array");
    std::vector<std::string> users;
    auto list = info[2].As<Napi::Array>();
    for (std::uint32_t i = 0; i < list.Length(); ++i)
      if (list.Get(i).IsString()) users.push_back(list.Get(i).As<Napi::String>().Utf8Value());
    e.natterbox_group(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(),
                      std::move(users));
    return env.Undefined();
  }

  Napi::Value set_frozen(const Napi::CallbackInfo& info) {
    auto& e = checked(info.Env());
    e.set_frozen(info[0].As<Napi::String>().Utf8Value(), info[1].ToBoolean().Value());
    return info.Env().Undefined();
  }

  // fault(name, { enabled, text, size, status, retryAfter })
  Napi::Value fault(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto& e = checked(env);
    auto name = info[0].As<Napi::String>().Utf8Value();
    auto o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    emu::fault_kind kind;
    if (name == "noPong") kind = emu::fault_kind::no_pong;
    else if (name == "stall") kind = emu::fault_kind::stall;
    else if (name == "malformed") kind = emu::fault_kind::malformed;
    else if (name == "binary") kind = emu::fault_kind::binary;
    else if (name == "oversized") kind = emu::fault_kind::oversized;
    else if (name == "drop") kind = emu::fault_kind::drop;
    else if (name == "refuseUpgrades") kind = emu::fault_kind::refuse;
    else throw Napi::Error::New(env, "unknown fault " + name);
    emu::fault_args a;
    a.enabled = get_bool(o, "enabled", true);
    a.text = get_string(o, "text");
    a.size = static_cast<std::uint64_t>(get_number(o, "size", 0));
    a.status = static_cast<std::uint32_t>(get_number(o, "status", 0));
    a.retry_after_s = static_cast<std::uint32_t>(get_number(o, "retryAfter", 0));
    e.fault(kind, a);
    return env.Undefined();
  }

  Napi::Value clear_faults(const Napi::CallbackInfo& info) {
    checked(info.Env()).clear_faults();
    return info.Env().Undefined();
  }

  Napi::Value disconnect_all(const Napi::CallbackInfo& info) {
    auto& e = checked(info.Env());
    e.disconnect_all(info[0].ToBoolean().Value(), static_cast<std::uint16_t>(info[1].As<Napi::Number>().Uint32Value()));
    return info.Env().Undefined();
  }

  // blast({ count, size, customerId, ownerId, resources, ids, unfiltered, rate }) -> id
  Napi::Value blast(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto& e = checked(env);
    auto o = info[0].As<Napi::Object>();
    emu::blast_options b;
    b.count = static_cast<std::uint64_t>(get_number(o, "count", static_cast<double>(b.count)));
    b.size = static_cast<std::size_t>(get_number(o, "size", static_cast<double>(b.size)));
    b.customer_id = get_string(o, "customerId");
    b.owner_id = get_string(o, "ownerId");
    b.ids = static_cast<std::uint32_t>(get_number(o, "ids", b.ids));
    b.unfiltered = o.Get("unfiltered").ToBoolean().Value();
    b.rate = get_number(o, "rate", 0);
    auto res = o.Get("resources");
    if (res.IsArray()) {
      auto arr = res.As<Napi::Array>();
      for (std::uint32_t i = 0; i < arr.Length(); ++i) b.resources.push_back(arr.Get(i).ToString().Utf8Value());
    }
    try {
      return Napi::Number::New(env, static_cast<double>(e.blast(b)));
    } catch (const std::exception& ex) {
      throw Napi::Error::New(env, ex.what());
    }
  }

  Napi::Value stats(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (!emu_) throw Napi::Error::New(env, "the emulator is gone");
    auto s = emu_->snapshot();
    auto o = Napi::Object::New(env);
    auto n = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
    n("connections", static_cast<double>(s.connections));
    n("connectionsTotal", static_cast<double>(s.connections_total));
    n("upgradesRefused", static_cast<double>(s.upgrades_refused));
    n("subscriptions", static_cast<double>(s.subscriptions));
    n("messagesReceived", static_cast<double>(s.messages_received));
    n("bytesReceived", static_cast<double>(s.bytes_received));
    n("eventsPublished", static_cast<double>(s.events_published));
    n("eventsSent", static_cast<double>(s.events_sent));
    n("eventsDropped", static_cast<double>(s.events_dropped));
    n("bytesSent", static_cast<double>(s.bytes_sent));
    n("pingsSent", static_cast<double>(s.pings_sent));
    n("pongsReceived", static_cast<double>(s.pongs_received));
    n("timeouts", static_cast<double>(s.timeouts));
    n("errorsSent", static_cast<double>(s.errors_sent));
    n("acksSent", static_cast<double>(s.acks_sent));
    n("cpuMs", s.cpu_ms);
    auto b = Napi::Object::New(env);
    b.Set("running", Napi::Boolean::New(env, s.blast_running));
    b.Set("connections", Napi::Number::New(env, static_cast<double>(s.last_blast.connections)));
    b.Set("events", Napi::Number::New(env, static_cast<double>(s.last_blast.events)));
    b.Set("bytes", Napi::Number::New(env, static_cast<double>(s.last_blast.bytes)));
    b.Set("wallMs", Napi::Number::New(env, s.last_blast.wall_ms));
    b.Set("cpuMs", Napi::Number::New(env, s.last_blast.cpu_ms));
    o.Set("blast", b);
    return o;
  }

  Napi::Value shutdown(const Napi::CallbackInfo& info) {
    if (emu_ && tsfn_live_) emu_->shutdown(info[0].As<Napi::Number>().Uint32Value());
    return info.Env().Undefined();
  }

  Napi::Value join(const Napi::CallbackInfo& info) {
    if (hook_) napi_remove_env_cleanup_hook(env_, &emulator_wrap::on_env_teardown, this);
    hook_ = false;
    stop_now();
    return info.Env().Undefined();
  }

  Napi::Value ref(const Napi::CallbackInfo& info) {
    if (tsfn_live_) tsfn_.Ref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value unref(const Napi::CallbackInfo& info) {
    if (tsfn_live_) tsfn_.Unref(info.Env());
    return info.Env().Undefined();
  }

  std::unique_ptr<emu::emulator> emu_;
  Napi::ThreadSafeFunction tsfn_;
  bool tsfn_live_ = false;
  bool hook_ = false;
  napi_env env_ = nullptr;
};

}  // namespace

void init_emulator(Napi::Env env, Napi::Object exports, addon_state& state) {
  auto ctor = emulator_wrap::define(env);
  state.emulator_ctor = Napi::Persistent(ctor);
  exports.Set("Emulator", ctor);
}

}  // namespace vr::addon
