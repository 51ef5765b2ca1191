#include "addon/addon_state.h"

#include <algorithm>

#include "core/runtime.h"

namespace vr::addon {

namespace {

void on_cleanup(void* arg) {
  auto* state = static_cast<addon_state*>(arg);
  state->hook_registered = false;
  state->teardown_env();
}

}  // namespace

addon_state::addon_state() = default;

addon_state::~addon_state() {
  if (hook_registered && env) napi_remove_env_cleanup_hook(env, on_cleanup, this);
  hook_registered = false;
  teardown_env();
}

io_runtime& addon_state::io() {
  if (!runtime) runtime = std::make_unique<io_runtime>();
  return *runtime;
}

void addon_state::register_cleanup(napi_env environment) {
  env = environment;
  hook_registered = napi_add_env_cleanup_hook(environment, on_cleanup, this) == napi_ok;
}

void addon_state::add_member(std::weak_ptr<env_member> member) {
  members.erase(std::remove_if(members.begin(), members.end(), [](const auto& m) { return m.expired(); }),
                members.end());
  members.push_back(std::move(member));
}

void addon_state::teardown_env() noexcept {
  if (torn_down) return;
  torn_down = true;
  for (auto& f : teardown) f();
  teardown.clear();
  if (runtime) runtime->stop_and_join();
  for (auto& weak : members) {
    if (auto member = weak.lock()) member->on_env_teardown();
  }
  members.clear();
  // Destroying the io_context destroys the handlers still queued, and with them the
  // connections they kept alive.
  runtime.reset();
}

}  // namespace vr::addon
