// The emulator object: io threads, the listener, the registry of open sessions, and the
// encoding of published events (once per event, shared by every connection).
#include <pthread.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "core/codec.h"
#include "core/exit_guard.h"
#include "emulator/state.h"

namespace vr::emu {

namespace detail {

namespace {

double clock_ms(clockid_t id) {
  timespec ts{};
  if (clock_gettime(id, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The live server's agent routes carry only resources that have an owner.
bool has_owner_route(std::string_view resource) {
  return resource == "call" || resource == "groupcall" || resource == "recording" || resource == "conversation" ||
         resource == "file" || resource == "chat";
}

std::string resource_of(std::string_view event_type) {
  auto end = event_type.find_first_of("._");
  return std::string(event_type.substr(0, end));
}

// Builds the frames and routes of one event. Throws std::invalid_argument with a readable message.
std::shared_ptr<const publication> build_publication(const options& o, const event_input& ev) {
  if (ev.event_type.empty()) throw std::invalid_argument("event_type must be a non-empty string");
  auto pub = std::make_shared<publication>();
  const std::string resource = resource_of(ev.event_type);

  if (o.dialect == wire_dialect::documented) {
    std::vector<std::string> topics;
    if (!ev.topic.empty()) {
      std::string norm, why;
      if (!vr::normalize_pattern(ev.topic, norm, why)) throw std::invalid_argument("topic: " + why);
      if (norm.find('*') != std::string::npos)
        throw std::invalid_argument("topic must be concrete (no '*'): " + ev.topic);
      topics.push_back(std::move(norm));
    } else {
      if (!vr::is_uuid(ev.customer_id)) throw std::invalid_argument("data.customer_id must be a UUID when no topic is given");
      if (ev.id.empty()) throw std::invalid_argument("data.id must be set when no topic is given");
      std::string norm, why;
      if (!vr::normalize_pattern("customer_id:" + ev.customer_id + ":" + resource + ":" + ev.id, norm, why))
        throw std::invalid_argument("cannot derive a topic: " + why);
      topics.push_back(std::move(norm));
      if (ev.owner_type == "agent" && vr::is_uuid(ev.owner_id) &&
          vr::normalize_pattern("agent_id:" + ev.owner_id + ":" + resource + ":" + ev.id, norm, why))
        topics.push_back(std::move(norm));
    }
    for (auto& t : topics) {
      std::string json = "{\"event_type\":";
      vr::append_json_string(json, ev.event_type);
      json += ",\"timestamp\":";
      vr::append_json_string(json, ev.timestamp);
      json += ",\"topic\":";
      vr::append_json_string(json, t);
      json += ",\"data\":";
      json += ev.data;
      json += '}';
      pub->routes.push_back({std::move(t), std::make_shared<const std::string>(encode_frame(0x1, json))});
    }
    return pub;
  }

  std::string type = ev.event_type;
  for (auto& c : type)
    if (c == '.') c = '_';
  std::string body;
  if (o.live_wrapper) {
    body = "{\"type\":";
    vr::append_json_string(body, type);
    body += ",\"data\":" + ev.data + "}";
  } else {
    body = ev.data;
  }
  auto wire = std::make_shared<const std::string>(encode_frame(0x1, body));
  std::vector<std::pair<std::string, std::string>> scopes;  // (scope:id, resource_id)
  std::string res = resource;
  if (!ev.topic.empty()) {
    vr::topic_parts parts;
    if (!vr::split_topic(ev.topic, parts)) throw std::invalid_argument("topic must have 4 segments: " + ev.topic);
    scopes.emplace_back(std::string(parts.scope) + ":" + std::string(parts.scope_id), std::string(parts.resource_id));
    res = std::string(parts.resource);
  } else {
    if (!vr::is_uuid(ev.customer_id)) throw std::invalid_argument("data.customer_id must be a UUID when no topic is given");
    if (ev.id.empty()) throw std::invalid_argument("data.id must be set when no topic is given");
    scopes.emplace_back("customer_id:" + lower(ev.customer_id), ev.id);
    if (ev.owner_type == "agent" && vr::is_uuid(ev.owner_id) &&
        ev.owner_id != "00000000-0000-0000-0000-000000000000" && has_owner_route(resource))
      scopes.emplace_back("agent_id:" + lower(ev.owner_id), ev.id);
  }
  for (auto& [scope, rid] : scopes) {
    pub->routes.push_back({scope + ":" + res + ":" + rid, wire});
    pub->routes.push_back({scope + ":" + res + ":" + type + ":" + rid, wire});
  }
  return pub;
}

std::string iso_now() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - secs).count();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buf;
}

// The payload bytes of an encoded server frame (its header is 2, 4 or 10 bytes).
std::size_t payload_size(const std::string& frame) {
  const unsigned len7 = static_cast<unsigned char>(frame[1]) & 0x7f;
  return frame.size() - (len7 < 126 ? 2 : len7 == 126 ? 4 : 10);
}

// The payload length whose frame is `frame_size` bytes, header included.
std::size_t payload_for_frame(std::size_t frame_size) {
  if (frame_size < 2 + 126) return frame_size > 2 ? frame_size - 2 : 0;
  if (frame_size - 4 < 65536) return frame_size - 4;
  return frame_size - 10;
}

// A blast event's data: required fields first (the routing keys and the status a listener
// reads), then as many of the optional ones as the frame size leaves room for, then padding.
struct blast_fields {
  std::string head;                    // `{"id":...,"customer_id":...` and the owner when given
  std::vector<std::string> optional;  // each `,"key":value`; a frame keeps the first ones that fit
};

constexpr const char* blast_statuses[] = {"dialing", "ringing", "progressing", "terminating", "hangup"};
constexpr std::string_view longest_status = "progressing";
constexpr std::string_view pad_open = ",\"pad\":\"";

// A live frame names no event: a client tells the resource by its distinctive fields
// (docs/protocol-voipbin.md, "Live dialect"), so a live blast event always carries one of them,
// the shortest a real resource of that kind holds. A documented one carries it as the first
// optional field, so that a documented frame large enough holds the same data as a live one.
std::string_view kind_field(std::string_view resource) {
  static constexpr std::pair<std::string_view, std::string_view> fields[] = {
      {"call", ",\"hangup_by\":\"\""},          {"groupcall", ",\"answer_method\":\"\""},
      {"recording", ",\"format\":\"wav\""},      {"queuecall", ",\"duration_waiting\":0"},
      {"agent", ",\"username\":\"\""},           {"conference", ",\"conferencecall_ids\":[]"},
      {"activeflow", ",\"executed_actions\":[]"}, {"message", ",\"targets\":[]"},
      {"transcribe", ",\"language\":\"en-US\""}, {"transcript", ",\"tm_transcript\":\"\""},
  };
  for (const auto& [name, field] : fields)
    if (name == resource) return field;
  return {};
}

blast_fields blast_base(std::string_view resource, const std::string& id, const blast_options& b, bool live) {
  blast_fields f;
  f.head = "{\"id\":\"" + id + "\",\"customer_id\":\"" + lower(b.customer_id) + "\"";
  const std::string_view kind = kind_field(resource);
  if (live)
    f.head += kind;
  else if (!kind.empty())
    f.optional.emplace_back(kind);
  if (b.rate > 0) f.head += "," + sent_slot_placeholder();
  if (!b.owner_id.empty())
    f.head += ",\"owner_type\":\"agent\",\"owner_id\":\"" + lower(b.owner_id) + "\"";
  else
    f.optional.push_back(",\"owner_type\":\"\",\"owner_id\":\"00000000-0000-0000-0000-000000000000\"");
  f.optional.push_back(",\"type\":\"flow\"");
  f.optional.push_back(",\"direction\":\"incoming\"");
  f.optional.push_back(",\"tm_create\":\"2026-01-15T10:30:00.000000Z\"");
  std::string res = ",\"resource\":";
  vr::append_json_string(res, resource);
  f.optional.push_back(std::move(res));
  return f;
}

std::string blast_data(const blast_fields& f, std::size_t optional, std::string_view status, std::size_t budget) {
  std::string json = f.head;
  for (std::size_t i = 0; i < optional; ++i) json += f.optional[i];
  json += ",\"status\":\"";
  json += status;
  json += '"';
  if (budget >= json.size() + pad_open.size() + 2) {
    json += pad_open;
    json.append(budget - json.size() - 2, 'x');
    json += '"';
  }
  json += '}';
  return json;
}

// How many optional fields fit in `budget` bytes of data whatever the status, padding included.
std::size_t optional_that_fit(const blast_fields& f, std::size_t budget) {
  std::size_t k = f.optional.size();
  while (k > 0 && blast_data(f, k, longest_status, 0).size() + pad_open.size() + 1 > budget) --k;
  return k;
}

}  // namespace

double server_state::cpu_ms() {
  std::lock_guard lock(cpu_mu);
  double total = cpu_finished_ms;
  for (auto id : cpu_clocks) total += clock_ms(id);
  return total;
}

std::vector<std::shared_ptr<session_base>> server_state::all_sessions() {
  std::lock_guard lock(sessions_mu);
  std::vector<std::shared_ptr<session_base>> out;
  out.reserve(sessions.size());
  for (auto& [id, s] : sessions) out.push_back(s);
  return out;
}

bool server_state::add_session(std::shared_ptr<session_base> s) {
  std::lock_guard lock(sessions_mu);
  if (stopping) return false;
  sessions.emplace(s->id(), std::move(s));
  return true;
}

void server_state::remove_session(std::uint64_t id) {
  std::shared_ptr<session_base> keep;
  {
    std::lock_guard lock(sessions_mu);
    auto it = sessions.find(id);
    if (it == sessions.end()) return;
    keep = std::move(it->second);
    sessions.erase(it);
  }
  maybe_stopped();
}

void server_state::maybe_stopped() {
  {
    std::lock_guard lock(sessions_mu);
    if (!stopping || !listener_closed || !sessions.empty() || stopped_notified) return;
    stopped_notified = true;
  }
  notify("{\"type\":\"stopped\"}");
}

void blast_plan::done() {
  if (--pending != 0) return;
  blast_report r;
  r.connections = connections;
  r.events = events;
  r.bytes = bytes;
  r.wall_ms = std::chrono::duration<double, std::milli>(clock::now() - start).count();
  r.cpu_ms = state->cpu_ms() - cpu_start;
  {
    std::lock_guard lock(state->blast_mu);
    state->last_blast = r;
  }
  state->blast_running = false;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"type\":\"blast\",\"id\":%llu,\"connections\":%llu,\"events\":%llu,\"bytes\":%llu,"
                "\"wallMs\":%.3f,\"cpuMs\":%.3f}",
                static_cast<unsigned long long>(id), static_cast<unsigned long long>(r.connections),
                static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.bytes), r.wall_ms,
                r.cpu_ms);
  state->notify(buf);
}

struct engine {
  asio::io_context ioc;
  std::unique_ptr<asio::ssl::context> ssl;
  asio::ip::tcp::acceptor acceptor{asio::make_strand(ioc)};
  std::vector<std::thread> threads;
  std::uint64_t next_blast = 1;
  std::mutex stop_mu;
  std::uint64_t exit_id = 0;  // exit_guard registration

  explicit engine(unsigned n) : ioc(static_cast<int>(n)) {}

  // Any thread but the engine's own: the JS thread's join() or the process's exit.
  void stop_threads() {
    std::lock_guard lock(stop_mu);
    ioc.stop();
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

namespace {

// Io thread (the acceptor's strand).
void accept_next(std::shared_ptr<server_state> st, engine* eng) {
  eng->acceptor.async_accept(asio::make_strand(eng->ioc), [st, eng](const error_code& ec, asio::ip::tcp::socket s) {
    if (ec == asio::error::operation_aborted || !eng->acceptor.is_open()) return;
    if (!ec) {
      error_code ignored;
      s.set_option(asio::ip::tcp::no_delay(true), ignored);
      if (eng->ssl)
        launch_tls(st, std::move(s), *eng->ssl);
      else
        launch_plain(st, std::move(s));
    }
    accept_next(st, eng);
  });
}

}  // namespace

}  // namespace detail

using namespace detail;

emulator::emulator(options opts, notify_fn notify)
    : state_(std::make_shared<server_state>(std::move(opts), std::move(notify))) {}

emulator::~emulator() { join(); }

bool emulator::secure() const noexcept { return !state_->opts.tls_cert.empty(); }

void emulator::start() {
  if (engine_) throw std::runtime_error("the emulator was already started");
  const auto& o = state_->opts;
  engine_ = std::make_unique<engine>(std::max(1u, o.threads));
  auto& eng = *engine_;
  try {
    if (!o.tls_cert.empty() || !o.tls_key.empty()) {
      eng.ssl = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      eng.ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3);
      eng.ssl->use_certificate_chain(asio::buffer(o.tls_cert));
      eng.ssl->use_private_key(asio::buffer(o.tls_key), asio::ssl::context::pem);
    }
  } catch (const boost::system::system_error& e) {
    engine_.reset();
    throw std::runtime_error(std::string("invalid TLS certificate or key: ") + e.what());
  }
  try {
    auto addr = asio::ip::make_address(o.host);
    asio::ip::tcp::endpoint ep(addr, o.port);
    eng.acceptor.open(ep.protocol());
    eng.acceptor.set_option(asio::socket_base::reuse_address(true));
    eng.acceptor.bind(ep);
    eng.acceptor.listen(asio::socket_base::max_listen_connections);
    port_ = eng.acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    engine_.reset();
    throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " +
                             e.code().message());
  }
  accept_next(state_, &eng);
  for (unsigned i = 0; i < std::max(1u, o.threads); ++i) {
    eng.threads.emplace_back([st = state_, ioc = &eng.ioc] {
      // Io thread: runs the emulator's loop until join() stops it.
      clockid_t id{};
      bool have_clock = pthread_getcpuclockid(pthread_self(), &id) == 0;
      if (have_clock) {
        std::lock_guard lock(st->cpu_mu);
        st->cpu_clocks.push_back(id);
      }
#if defined(__linux__)
      // Paced blasts wait on timers tens of microseconds apart; the default 50 us of timer slack
      // would turn an even pace into pairs.
      prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
#endif
      ioc->run();
      if (have_clock) {
        std::lock_guard lock(st->cpu_mu);
        st->cpu_finished_ms += clock_ms(id);
        st->cpu_clocks.erase(std::find(st->cpu_clocks.begin(), st->cpu_clocks.end(), id));
      }
    });
  }
  eng.exit_id = exit_guard::add([e = &eng] { e->stop_threads(); });
}

void emulator::publish(const event_input& ev) {
  event_input copy;
  const event_input* in = &ev;
  if (ev.timestamp.empty()) {
    copy = ev;
    copy.timestamp = iso_now();
    in = &copy;
  }
  auto pub = build_publication(state_->opts, *in);
  state_->events_published++;
  for (auto& s : state_->all_sessions()) s->deliver(pub);
}

void emulator::add_access_key(std::string key, std::string customer_id) {
  std::lock_guard lock(state_->auth_mu);
  state_->access_keys[std::move(key)] = lower(customer_id);
}

void emulator::set_frozen(std::string customer_id, bool frozen) {
  std::lock_guard lock(state_->auth_mu);
  if (frozen)
    state_->frozen.insert(lower(customer_id));
  else
    state_->frozen.erase(lower(customer_id));
}

void emulator::fault(fault_kind kind, const fault_args& args) {
  switch (kind) {
    case fault_kind::no_pong:
      state_->no_pong = args.enabled;
      return;
    case fault_kind::stall:
      state_->stall = args.enabled;
      if (!args.enabled)
        for (auto& s : state_->all_sessions()) s->resume();
      return;
    case fault_kind::refuse:
      state_->refuse_retry_after = args.enabled ? args.retry_after_s : 0;
      state_->refuse_status = args.enabled ? args.status : 0;
      return;
    default:
      for (auto& s : state_->all_sessions()) s->inject(kind, args);
  }
}

void emulator::clear_faults() {
  state_->no_pong = false;
  state_->refuse_status = 0;
  state_->refuse_retry_after = 0;
  if (state_->stall.exchange(false))
    for (auto& s : state_->all_sessions()) s->resume();
}

void emulator::disconnect_all(bool abrupt, std::uint16_t code) {
  for (auto& s : state_->all_sessions()) s->close(abrupt, code);
}

std::uint64_t emulator::blast(const blast_options& b) {
  const bool natterbox = state_->opts.dialect == wire_dialect::natterbox;
  if (!natterbox && !vr::is_uuid(b.customer_id)) throw std::invalid_argument("blast needs customerId as a UUID");
  if (!b.owner_id.empty() && !vr::is_uuid(b.owner_id)) throw std::invalid_argument("blast ownerId must be a UUID");
  if (!(b.rate >= 0) || b.rate > 1e9) throw std::invalid_argument("blast rate must be a number from 0 to 1e9");
  if (!engine_) throw std::runtime_error("the emulator is not running");
  if (state_->blast_running.exchange(true)) throw std::runtime_error("a blast is already running");
  auto plan = std::make_shared<blast_plan>();
  plan->id = engine_->next_blast++;
  plan->count = b.count;
  plan->state = state_;
  plan->unfiltered = b.unfiltered;
  plan->rate = b.rate;
  std::vector<std::string> resources = b.resources.empty() ? std::vector<std::string>{"call"} : b.resources;
  const std::uint32_t ids = std::max<std::uint32_t>(1, b.ids);
  const std::size_t payload = payload_for_frame(b.size);
  try {
    for (std::uint32_t i = 0; i < ids; ++i) {
      if (natterbox) {
        plan->pool.push_back(detail::natterbox_blast_event(*state_, i, payload));
        continue;
      }
      const auto& resource = resources[i % resources.size()];
      char id[40];
      std::snprintf(id, sizeof id, "b1a57000-0000-4000-8000-%012x", i);
      event_input ev;
      ev.event_type = resource + (state_->opts.dialect == wire_dialect::live ? "_updated" : ".status");
      ev.timestamp = iso_now();
      ev.customer_id = b.customer_id;
      ev.id = id;
      if (!b.owner_id.empty()) {
        ev.owner_type = "agent";
        ev.owner_id = b.owner_id;
      }
      // The envelope around the data differs per route (documented topics differ in length), so
      // each route's frame is sized on its own; routes of equal envelope share one build.
      ev.data = "{}";
      auto probe = build_publication(state_->opts, ev);
      const auto fields = blast_base(resource, id, b, state_->opts.dialect == wire_dialect::live);
      std::size_t optional = fields.optional.size();
      std::vector<std::size_t> budgets;
      for (auto& r : probe->routes) {
        const std::size_t envelope = payload_size(*r.wire) - 2;
        budgets.push_back(payload > envelope ? payload - envelope : 0);
        optional = std::min(optional, optional_that_fit(fields, budgets.back()));
      }
      auto pub = std::make_shared<publication>();
      std::vector<std::pair<std::size_t, std::shared_ptr<const publication>>> built;
      for (std::size_t r = 0; r < probe->routes.size(); ++r) {
        auto same = std::find_if(built.begin(), built.end(), [&](auto& e) { return e.first == budgets[r]; });
        if (same == built.end()) {
          ev.data = blast_data(fields, optional, blast_statuses[i % 5], budgets[r]);
          built.emplace_back(budgets[r], build_publication(state_->opts, ev));
          same = std::prev(built.end());
        }
        pub->routes.push_back(same->second->routes[r]);
      }
      plan->pool.push_back(std::move(pub));
    }
  } catch (...) {
    state_->blast_running = false;
    throw;
  }
  auto sessions = state_->all_sessions();
  plan->pending = static_cast<std::int64_t>(sessions.size()) + 1;
  plan->start = clock::now();
  plan->cpu_start = state_->cpu_ms();
  for (auto& s : sessions) s->start_blast(plan);
  auto id = plan->id;
  plan->done();
  return id;
}

stats emulator::snapshot() const {
  auto& st = *state_;
  stats s;
  s.connections = st.connections;
  s.connections_total = st.connections_total;
  s.upgrades_refused = st.upgrades_refused;
  s.subscriptions = st.subscriptions;
  s.messages_received = st.messages_received;
  s.bytes_received = st.bytes_received;
  s.events_published = st.events_published;
  s.events_sent = st.events_sent;
  s.events_dropped = st.events_dropped;
  s.bytes_sent = st.bytes_sent;
  s.pings_sent = st.pings_sent;
  s.pongs_received = st.pongs_received;
  s.timeouts = st.timeouts;
  s.errors_sent = st.errors_sent;
  s.acks_sent = st.acks_sent;
  s.cpu_ms = st.cpu_ms();
  s.blast_running = st.blast_running;
  std::lock_guard lock(st.blast_mu);
  s.last_blast = st.last_blast;
  return s;
}

void emulator::shutdown(std::uint32_t grace_ms) {
  {
    std::lock_guard lock(state_->sessions_mu);
    if (state_->stopping) return;
    state_->stopping = true;
  }
  if (!engine_) {
    {
      std::lock_guard lock(state_->sessions_mu);
      state_->listener_closed = true;
    }
    state_->maybe_stopped();
    return;
  }
  auto* eng = engine_.get();
  asio::post(eng->acceptor.get_executor(), [st = state_, eng] {
    error_code ignored;
    eng->acceptor.close(ignored);
    {
      std::lock_guard lock(st->sessions_mu);
      st->listener_closed = true;
    }
    st->maybe_stopped();
  });
  for (auto& s : state_->all_sessions()) s->close(false, 1001);
  // Connections that do not finish the close handshake in time are cut.
  auto timer = std::make_shared<asio::steady_timer>(eng->ioc, std::chrono::milliseconds(grace_ms));
  timer->async_wait([st = state_, timer](const error_code& ec) {
    if (ec) return;
    for (auto& s : st->all_sessions()) s->close(true, 1001);
  });
}

void emulator::join() {
  if (!engine_) return;
  {
    std::lock_guard lock(state_->sessions_mu);
    state_->stopping = true;
  }
  exit_guard::remove(engine_->exit_id);
  engine_->stop_threads();
  std::unordered_map<std::uint64_t, std::shared_ptr<session_base>> sessions;
  {
    std::lock_guard lock(state_->sessions_mu);
    sessions.swap(state_->sessions);
  }
  sessions.clear();
  error_code ignored;
  engine_->acceptor.close(ignored);
  // Destroying the io_context destroys the handlers still queued, and the sessions they own.
  engine_.reset();
}

}  // namespace vr::emu
