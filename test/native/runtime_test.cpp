// io_runtime's scheduling request: the io thread asks for a long time slice and keeps its
// policy and nice value.
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/post.hpp>

#include "core/runtime.h"

namespace {

// Linux 6.12 added per-task slices for fair threads (sched_attr.sched_runtime).
bool kernel_has_custom_slices() {
  utsname u{};
  if (uname(&u) != 0) return false;
  int major = 0, minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 12);
}

// The calling thread's `se.slice` from /proc, in ns; empty when the kernel does not show it.
std::optional<long long> own_slice() {
  std::ifstream in("/proc/thread-self/sched");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("se.slice", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return std::stoll(line.substr(colon + 1));
  }
  return std::nullopt;
}

int own_nice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }

}  // namespace

TEST_CASE("runtime: the io thread runs with the long slice", "[runtime]") {
  vr::io_runtime rt;
  std::promise<std::pair<int, std::optional<long long>>> seen;
  boost::asio::post(rt.context(), [&] { seen.set_value({sched_getscheduler(0), own_slice()}); });
  const auto [policy, slice] = seen.get_future().get();
  CHECK(policy == SCHED_OTHER);
  if (kernel_has_custom_slices()) {
    REQUIRE(slice.has_value());
    CHECK(*slice == static_cast<long long>(vr::kIoSliceNs));
  }
}

TEST_CASE("runtime: the slice request keeps the thread's nice value", "[runtime]") {
  std::thread([] {
    const int before = own_nice();
    REQUIRE(setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), before + 3) == 0);
    CHECK(vr::ask_for_long_slice());
    CHECK(own_nice() == before + 3);
    CHECK(sched_getscheduler(0) == SCHED_OTHER);
    if (kernel_has_custom_slices()) CHECK(own_slice() == std::optional<long long>(vr::kIoSliceNs));
  }).join();
}

TEST_CASE("runtime: a thread under another policy is left alone", "[runtime]") {
  std::thread([] {
    const sched_param param{};
    REQUIRE(sched_setscheduler(0, SCHED_IDLE, &param) == 0);  // allowed without privilege
    const auto slice = own_slice();
    CHECK_FALSE(vr::ask_for_long_slice());
    CHECK(sched_getscheduler(0) == SCHED_IDLE);
    CHECK(own_slice() == slice);
  }).join();
}

TEST_CASE("runtime: a handler that throws is counted and the loop keeps serving", "[runtime]") {
  vr::io_runtime rt;
  CHECK(rt.unhandled_exceptions() == 0);
  boost::asio::post(rt.context(), [] { throw std::runtime_error("a handler's own failure"); });
  boost::asio::post(rt.context(), [] { throw 7; });
  std::promise<void> served;
  boost::asio::post(rt.context(), [&] { served.set_value(); });
  served.get_future().get();
  CHECK(rt.unhandled_exceptions() == 2);
}
