// Module entry: registers the Client and Emulator classes for one Node environment.
#include "addon/addon_state.h"
#include "addon/interface.h"
#include "core/event_queue.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* state = new vr::addon::addon_state();
  env.SetInstanceData<vr::addon::addon_state>(state);
  // Cleanup hooks run in reverse order of registration, so this one runs before Node-API
  // finalizes the environment's references and instance data (its hook was added earlier).
  state->register_cleanup(env);
  vr::addon::init_client(env, exports, *state);
  vr::addon::init_emulator(env, exports, *state);
  // Read by lib/native.js before the addon is used (interface.h).
  exports.Set("interfaceVersion", Napi::Number::New(env, vr::addon::kInterfaceVersion));
  exports.Set("metaStride", Napi::Number::New(env, vr::kMetaStride));
  return exports;
}

}  // namespace

vr::addon::addon_state& vr::addon::state_of(Napi::Env env) {
  return *env.GetInstanceData<addon_state>();
}

NODE_API_MODULE(voip_realtime, init)
