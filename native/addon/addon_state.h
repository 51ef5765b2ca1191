// Per-environment state of the addon (main thread and each Worker load the module separately),
// kept as Node-API instance data and never in globals.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

namespace vr {
class io_runtime;
}

namespace vr::addon {

// Something the io thread may still use (a client's thread-safe function, its connection) and
// that must be shut down after the io thread has been joined, at environment teardown.
class env_member {
 public:
  virtual void on_env_teardown() noexcept = 0;  // JS thread, io thread already joined

 protected:
  ~env_member() = default;
};

struct addon_state {
  Napi::FunctionReference client_ctor;
  Napi::FunctionReference emulator_ctor;
  // Started by the first client that is constructed; stopped and joined by the cleanup hook.
  std::unique_ptr<io_runtime> runtime;
  // Run at environment teardown (process exit, Worker termination) before the runtime stops.
  std::vector<std::function<void()>> teardown;
  // Told at environment teardown, after the runtime stopped and before it is destroyed.
  // Expired entries are skipped (members never unregister, so no finalizer needs this state).
  std::vector<std::weak_ptr<env_member>> members;

  napi_env env = nullptr;
  bool hook_registered = false;
  bool torn_down = false;

  addon_state();
  ~addon_state();
  io_runtime& io();
  void add_member(std::weak_ptr<env_member> member);
  // Registers teardown_env() as the environment cleanup hook. Call once, at module init.
  void register_cleanup(napi_env environment);
  // The environment cleanup hook (process.exit(), Worker termination, normal exit): teardown
  // functions, stop and join the io thread, members, then destroy the runtime. Idempotent.
  void teardown_env() noexcept;
};

addon_state& state_of(Napi::Env env);

void init_client(Napi::Env env, Napi::Object exports, addon_state& state);
void init_emulator(Napi::Env env, Napi::Object exports, addon_state& state);

}  // namespace vr::addon
