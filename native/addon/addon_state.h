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

struct addon_state {
  Napi::FunctionReference client_ctor;
  Napi::FunctionReference emulator_ctor;
  // Started by the first client that connects; stopped and joined by the cleanup hook.
  std::unique_ptr<io_runtime> runtime;
  // Run at environment teardown (process exit, Worker termination) before the runtime stops.
  std::vector<std::function<void()>> teardown;

  ~addon_state();
  io_runtime& io();
};

addon_state& state_of(Napi::Env env);

void init_client(Napi::Env env, Napi::Object exports, addon_state& state);
void init_emulator(Napi::Env env, Napi::Object exports, addon_state& state);

}  // namespace vr::addon
