// Placeholder until the emulator binding lands: registers nothing.
#include "addon/addon_state.h"

void vr::addon::init_emulator(Napi::Env, Napi::Object, addon_state&) {}
