// Stops the library's threads before the process's static destructors run.
//
// process.exit() on the main thread does not tear the Node environment down: no cleanup hook or
// instance-data finalizer runs, and exit() goes straight to the static destructors. Those
// destroy simdjson's kernel objects and the error categories of Boost, Asio and Beast, which an
// io thread still reading would then call through their (destroyed) vtables: "pure virtual
// method called" and an abort instead of the exit code. Each thread owner registers a stopper;
// the first registration makes sure those statics exist and then installs an atexit handler,
// which therefore runs before they are destroyed and stops every registered thread.
#pragma once

#include <cstdint>
#include <functional>

namespace vr::exit_guard {

// Any thread. `stop` must stop and join the owner's threads and may run on any thread, once,
// at exit. Returns the id for remove().
std::uint64_t add(std::function<void()> stop);

// Any thread. After it returns the stopper will not be running nor run.
void remove(std::uint64_t id);

}  // namespace vr::exit_guard
