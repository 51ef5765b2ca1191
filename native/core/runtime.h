// One io_context and the thread that runs it. The addon keeps one per Node environment (the
// main thread and each Worker), started lazily by the first client that connects.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace vr {

class io_runtime {
 public:
  io_runtime();
  ~io_runtime();  // stop_and_join()
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  boost::asio::io_context& context() noexcept { return ioc_; }
  // Stops the loop and joins the thread. Safe to call twice, and from two threads (a Worker's
  // teardown and the process's exit). From the io thread itself it only stops the loop. Handlers still pending are destroyed with the runtime (~io_context), which
  // frees whatever they own (connections kept alive by their own handlers); objects owned from
  // outside must be released before the runtime is destroyed.
  void stop_and_join();
  bool on_io_thread() const noexcept;
  // Exceptions that no connection caught and that reached the loop's last resort (stderr).
  std::uint64_t unhandled_exceptions() const noexcept { return unhandled_.load(std::memory_order_relaxed); }

 private:
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
  std::mutex stop_mutex_;
  std::uint64_t exit_id_ = 0;  // exit_guard registration
  std::atomic<std::uint64_t> unhandled_{0};
};

// Asks the scheduler (Linux 6.12 and later, EEVDF) for a 20 ms time slice for the calling
// thread, keeping its policy and nice value; only a SCHED_OTHER or SCHED_BATCH thread asks.
// Returns true when the request was taken. See runtime.cpp for why the io thread asks.
bool ask_for_long_slice() noexcept;
inline constexpr std::uint64_t kIoSliceNs = 20'000'000;

// Hands the allocator's free pages back to the system (glibc's malloc_trim; nothing elsewhere).
// A subscribe of 100,000 patterns builds and frees tens of MB of transient strings on the io
// thread, which glibc otherwise keeps in that thread's arena for the life of the process.
// It walks every arena, so it runs only after such bulk work.
void release_free_memory() noexcept;

}  // namespace vr
