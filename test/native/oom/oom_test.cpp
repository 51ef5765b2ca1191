// Out of memory on the io thread, for real: this executable replaces the global operator new
// with one that throws std::bad_alloc on demand, and only on the client's io thread, so the
// emulator serving the client (on its own threads) and the test itself allocate normally. A
// real client connects to a real emulator over loopback; each test makes one allocation fail
// where the client has to catch it, then checks what the consumer hears (the exact records), that
// the client connects again and later events arrive, and that nothing went to the io loop's
// last-resort handler (which only writes to stderr). Under test/sanitize.sh the same tests run
// with leak detection.
//
// Its own executable because a replaced operator new applies to every test linked with it.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>

#include "core/client.h"
#include "core/event_queue.h"
#include "core/runtime.h"
#include "emulator/emulator.h"

namespace {

thread_local bool t_io_thread = false;
// 0: off. Otherwise the next allocation of at least this many bytes on the io thread throws
// (once: the failing allocation disarms it).
std::atomic<std::size_t> g_fail_from{0};
std::atomic<int> g_failures{0};

void* allocate(std::size_t n) {
  if (t_io_thread) {
    std::size_t from = g_fail_from.load(std::memory_order_relaxed);
    if (from != 0 && n >= from && g_fail_from.compare_exchange_strong(from, 0)) {
      g_failures.fetch_add(1);
      throw std::bad_alloc();
    }
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
// The nothrow forms are replaced too, so that every form pairs with the deletes above (a
// sanitizer's own new[] freed here is a mismatch); they never fail on purpose: the faults under
// test are the throwing ones.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using namespace std::chrono_literals;

constexpr const char* kCustomer = "5f6a1c2e-0b7d-4e8a-9c3f-2d1e0a9b8c7d";
constexpr const char* kKey = "oom-test-key";

std::string call_pattern() { return std::string("customer_id:") + kCustomer + ":call:*"; }

std::string call_id(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "0b5c2d8e-1f3a-4c6b-8d9e-%012d", n);
  return id;
}

// A record as the consumer sees it: events as `event <type> <data>`, the others as their JSON.
struct record {
  int kind;
  std::string text;
};

// What a consumer does with the client's queue: wait for the wake, drain, resume a paused reader.
class consumer {
 public:
  std::function<void()> wake() {
    return [this] {
      std::lock_guard lock(mutex_);
      woken_ = true;
      cv_.notify_one();
    };
  }

  // Drains until `done(records)` holds or 10 s passed; returns whether it held.
  bool until(vr::client& c, const std::function<bool(const std::vector<record>&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      drain(c);
      if (done(records_)) return true;
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, deadline, [this] { return woken_; })) return false;
      woken_ = false;
    }
  }

  const std::vector<record>& records() const { return records_; }

  std::vector<std::string> of_type(const std::string& type) const {
    std::vector<std::string> out;
    const std::string tag = "{\"type\":\"" + type + "\"";
    for (const auto& r : records_) {
      if (r.kind == vr::record_control && r.text.rfind(tag, 0) == 0) out.push_back(r.text);
    }
    return out;
  }

  std::vector<std::string> events() const {
    std::vector<std::string> out;
    for (const auto& r : records_) {
      if (r.kind == vr::record_event) out.push_back(r.text);
    }
    return out;
  }

  std::size_t server_records() const {
    std::size_t n = 0;
    for (const auto& r : records_) n += r.kind == vr::record_server;
    return n;
  }

 private:
  void drain(vr::client& c) {
    vr::batch b;
    c.queue().drain(b);
    CHECK(b.ascii);  // offsets are then byte offsets
    auto field = [&](std::size_t at) {
      return b.text.substr(static_cast<std::size_t>(b.meta[at]),
                           static_cast<std::size_t>(b.meta[at + 1] - b.meta[at]));
    };
    for (std::size_t i = 0; i + vr::kMetaStride <= b.meta.size(); i += vr::kMetaStride) {
      const int kind = b.meta[i];
      if (kind == vr::record_event) {
        records_.push_back({kind, "event " + field(i + 1) + " " + field(i + 7)});
      } else {
        records_.push_back({kind, field(i + 1)});
      }
    }
    if (b.reader_stopped) c.resume_reading();
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
  std::vector<record> records_;
};

struct fixture {
  fixture() : emulator(server_options(), [](std::string) {}) {
    emulator.start();
    emulator.add_access_key(kKey, kCustomer);
    std::promise<void> marked;
    boost::asio::post(runtime.context(), [&] {
      t_io_thread = true;
      marked.set_value();
    });
    marked.get_future().get();
    g_fail_from = 0;
    g_failures = 0;
  }

  ~fixture() {
    g_fail_from = 0;
    if (client) {
      client->close();
      consume.until(*client, [](const std::vector<record>& rs) {
        for (const auto& r : rs) {
          if (r.kind == vr::record_control && r.text.find("\"final\":true") != std::string::npos) return true;
        }
        return false;
      });
      std::weak_ptr<vr::client> gone = client;
      client.reset();
      // Its handlers hold it until they have run: once the io thread is idle nothing may keep it.
      for (int i = 0; i < 500 && !gone.expired(); ++i) std::this_thread::sleep_for(10ms);
      CHECK(gone.expired());
    }
    emulator.shutdown(0);
    emulator.join();
  }

  static vr::emu::options server_options() {
    vr::emu::options o;
    o.ping_interval_ms = 0;
    o.read_timeout_ms = 0;
    o.buffer_size = 100000;
    return o;
  }

  void start(double initial_delay_ms = 20) {
    vr::client_config c;
    c.host = "127.0.0.1";
    c.port = std::to_string(emulator.port());
    c.target = std::string("/v1.0/ws?accesskey=") + kKey;
    c.heartbeat_interval_ms = 0;
    c.reconnect.initial_delay_ms = initial_delay_ms;
    c.reconnect.max_delay_ms = initial_delay_ms * 5;
    c.reconnect.jitter = 0;
    c.seed = 1;
    client = vr::client::create(runtime, c, consume.wake());
    client->start();
  }

  void open_and_subscribe() {
    start();
    REQUIRE(wait_opens(1));
    subscribe_calls();
  }

  // Subscribes to the call pattern and waits for the server's ack.
  void subscribe_calls() {
    const std::size_t acks = consume.server_records();
    client->subscribe({call_pattern()});
    REQUIRE(consume.until(*client, [&](const auto&) { return consume.server_records() == acks + 1; }));
  }

  void publish(int n, std::string data_extra = {}) {
    vr::emu::event_input ev;
    ev.event_type = "call_created";
    ev.customer_id = kCustomer;
    ev.id = call_id(n);
    ev.data = "{\"id\":\"" + ev.id + "\",\"customer_id\":\"" + kCustomer + "\",\"n\":" + std::to_string(n) +
              (data_extra.empty() ? "" : ",\"pad\":\"" + data_extra + "\"") + "}";
    emulator.publish(ev);
  }

  // The next allocation of at least `bytes` on the io thread throws std::bad_alloc.
  void fail_next_allocation_from(std::size_t bytes) { g_fail_from = bytes; }

  bool wait_opens(std::size_t n) {
    return consume.until(*client, [&](const auto&) { return consume.of_type("open").size() >= n; });
  }

  bool wait_events(std::size_t n) {
    return consume.until(*client, [&](const auto&) { return consume.events().size() >= n; });
  }

  vr::io_runtime runtime;
  vr::emu::emulator emulator;
  consumer consume;
  std::shared_ptr<vr::client> client;
};

// The one close record a lost connection or failed attempt produces here (first retry, 20 ms).
std::string close_record(bool was_open, const std::string& code, const std::string& message) {
  return std::string("{\"type\":\"close\",\"code\":1006,\"reason\":\"\",\"wasOpen\":") +
         (was_open ? "true" : "false") + ",\"willReconnect\":true,\"attempt\":1,\"delay\":20,\"error\":{\"code\":\"" +
         code + "\",\"message\":\"" + message + "\"}}";
}

std::string event_text(int n) {
  return "event call_created {\"id\":\"" + call_id(n) + "\",\"customer_id\":\"" + kCustomer + "\",\"n\":" +
         std::to_string(n) + "}";
}

}  // namespace

TEST_CASE("oom: a message whose buffer cannot be allocated drops the connection with a clear error",
          "[oom]") {
  fixture f;
  f.open_and_subscribe();
  f.publish(1);
  REQUIRE(f.wait_events(1));

  // The frame reader starts with 64 KiB and doubles as a large message arrives: a 1 MiB event
  // needs a 256 KiB buffer on the way, which is refused.
  f.fail_next_allocation_from(256 * 1024);
  f.publish(2, std::string(1 << 20, 'x'));
  REQUIRE(f.wait_opens(2));
  CHECK(g_failures == 1);

  CHECK(f.consume.of_type("close") ==
        std::vector<std::string>{close_record(true, "CLOSED",
                                              "out of memory: no buffer could be allocated for a message from "
                                              "the server; the connection was dropped")});
  const auto opens = f.consume.of_type("open");
  CHECK(opens[1] == "{\"type\":\"open\",\"resubscribed\":[\"" + call_pattern() + "\"],\"dialect\":\"documented\"}");

  // The resubscribe is acknowledged; events go on arriving, the lost one is not made up.
  REQUIRE(f.consume.until(*f.client, [&](const auto&) { return f.consume.server_records() == 2; }));
  f.publish(3);
  REQUIRE(f.wait_events(2));
  CHECK(f.consume.events() == std::vector<std::string>{event_text(1), event_text(3)});
  CHECK(f.runtime.unhandled_exceptions() == 0);
}

TEST_CASE("oom: strand work that runs out of memory on an open connection replaces the connection",
          "[oom]") {
  fixture f;
  f.open_and_subscribe();

  // A subscribe to thousands of topics builds a large message on the io thread; that allocation
  // is refused inside the posted work (client.cpp post() -> on_exception).
  std::vector<std::string> many;
  for (int i = 0; i < 4000; ++i) many.push_back(std::string("customer_id:") + kCustomer + ":call:" + call_id(i));
  f.fail_next_allocation_from(64 * 1024);
  f.client->subscribe(many);
  REQUIRE(f.wait_opens(2));
  CHECK(g_failures == 1);

  CHECK(f.consume.of_type("close") ==
        std::vector<std::string>{close_record(
            true, "CLOSED", "out of memory on the io thread (std::bad_alloc); the connection was dropped")});

  // The refused subscribe was never sent: the one ack so far is the first subscribe's, and the
  // next one answers the resubscribe on the new connection.
  REQUIRE(f.consume.until(*f.client, [&](const auto&) { return f.consume.server_records() == 2; }));
  f.publish(7);
  REQUIRE(f.wait_events(1));
  CHECK(f.consume.events() == std::vector<std::string>{event_text(7)});
  CHECK(f.runtime.unhandled_exceptions() == 0);
}

TEST_CASE("oom: an attempt whose first step runs out of memory fails as CONNECT_FAILED and is retried",
          "[oom]") {
  fixture f;
  f.fail_next_allocation_from(1);  // the very next allocation on the io thread: inside the posted start()
  f.start();
  REQUIRE(f.wait_opens(1));
  CHECK(g_failures == 1);

  CHECK(f.consume.of_type("close") ==
        std::vector<std::string>{close_record(false, "CONNECT_FAILED",
                                              "the attempt failed: out of memory on the io thread (std::bad_alloc)")});
  f.subscribe_calls();
  f.publish(9);
  REQUIRE(f.wait_events(1));
  CHECK(f.consume.events() == std::vector<std::string>{event_text(9)});
  CHECK(f.runtime.unhandled_exceptions() == 0);
}

TEST_CASE("oom: a request that runs out of memory while no connection exists is reported as a warning",
          "[oom]") {
  fixture f;
  vr::emu::fault_args refuse;
  refuse.status = 503;
  f.emulator.fault(vr::emu::fault_kind::refuse, refuse);
  f.start(60000);  // the first attempt is refused, the next one is a minute away
  REQUIRE(f.consume.until(*f.client, [&](const auto&) { return f.consume.of_type("close").size() == 1; }));

  f.fail_next_allocation_from(1);  // the next allocation on the io thread: inside the posted subscribe
  f.client->subscribe({call_pattern()});
  REQUIRE(f.consume.until(*f.client, [&](const auto&) { return !f.consume.of_type("warning").empty(); }));
  CHECK(g_failures == 1);
  CHECK(f.consume.of_type("warning") ==
        std::vector<std::string>{"{\"type\":\"warning\",\"message\":\"a request could not be carried out: out "
                                 "of memory on the io thread (std::bad_alloc)\"}"});
  CHECK(f.consume.of_type("close").size() == 1);  // still waiting out the backoff
  CHECK(f.runtime.unhandled_exceptions() == 0);
}
