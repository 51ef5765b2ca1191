// One io_context and the thread that runs it. The addon keeps one per Node environment (the
// main thread and each Worker), started lazily by the first client that connects.
#pragma once

#include <memory>
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
  // Stops the loop and joins the thread. Safe to call twice. Must not be called from the io
  // thread itself. Handlers still pending are destroyed with the runtime (~io_context), which
  // frees whatever they own (connections kept alive by their own handlers); objects owned from
  // outside must be released before the runtime is destroyed.
  void stop_and_join();
  bool on_io_thread() const noexcept;

 private:
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

}  // namespace vr
