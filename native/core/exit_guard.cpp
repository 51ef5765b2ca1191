#include "core/exit_guard.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/system/error_code.hpp>
#include <simdjson.h>

namespace vr::exit_guard {

namespace {

struct registry {
  std::mutex mutex;
  std::map<std::uint64_t, std::function<void()>> stoppers;
  std::uint64_t next_id = 1;
  bool installed = false;
  bool exiting = false;
};

// Never destroyed: the atexit handler and late remove() calls may still use it.
registry& instance() {
  static registry* r = new registry();
  return *r;
}

// Constructs every function-local static the io threads may reach, so that each is destroyed
// after the atexit handler installed right after this has run.
void touch_statics() {
  static_cast<void>(simdjson::get_active_implementation()->name());
  [[maybe_unused]] const bool valid = simdjson::validate_utf8("", 0);
  static_cast<void>(boost::system::system_category().name());
  static_cast<void>(boost::system::generic_category().name());
  static_cast<void>(boost::asio::error::get_misc_category().name());
  static_cast<void>(boost::asio::error::get_netdb_category().name());
  static_cast<void>(boost::asio::error::get_addrinfo_category().name());
  static_cast<void>(boost::asio::error::get_ssl_category().name());
  static_cast<void>(boost::asio::ssl::error::get_stream_category().name());
  static_cast<void>(boost::beast::websocket::make_error_code(boost::beast::websocket::error::closed).category().name());
  static_cast<void>(boost::beast::http::make_error_code(boost::beast::http::error::end_of_stream).category().name());
}

void run_all() {
  registry& r = instance();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.exiting = true;
  for (auto& [id, stop] : r.stoppers) stop();
  r.stoppers.clear();
}

}  // namespace

std::uint64_t add(std::function<void()> stop) {
  registry& r = instance();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.installed) {
    r.installed = true;
    touch_statics();
    std::atexit(run_all);
  }
  const std::uint64_t id = r.next_id++;
  if (!r.exiting) r.stoppers.emplace(id, std::move(stop));
  return id;
}

void remove(std::uint64_t id) {
  registry& r = instance();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.stoppers.erase(id);
}

}  // namespace vr::exit_guard
