#include "core/runtime.h"

#include "core/exit_guard.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace vr {

io_runtime::io_runtime() : guard_(boost::asio::make_work_guard(ioc_)) {
  thread_ = std::thread([this] {
    // io thread. A handler that throws is a bug in that handler; the loop keeps serving the
    // other connections instead of terminating the process.
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (...) {
      }
    }
  });
  exit_id_ = exit_guard::add([this] { stop_and_join(); });
}

io_runtime::~io_runtime() {
  exit_guard::remove(exit_id_);
  stop_and_join();
}

void io_runtime::stop_and_join() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  guard_.reset();
  ioc_.stop();
  if (on_io_thread()) return;
  if (thread_.joinable()) thread_.join();
}

bool io_runtime::on_io_thread() const noexcept { return thread_.get_id() == std::this_thread::get_id(); }

void release_free_memory() noexcept {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace vr
