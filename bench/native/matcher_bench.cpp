// ns per topic_matcher::matches() call at several subscription set sizes. The matcher is what the
// client's io thread runs for every event frame, so its cost bounds the native filtering rate.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/topic.h"

namespace {

std::string uuid_from(std::mt19937_64& rng) {
  const std::uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>((b >> 48) & 0xfff),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

// A subscription set shaped like a busy contact centre: mostly per-call patterns spread over a
// few customers, plus one resource wildcard per 100 patterns so two hash shapes are probed.
struct fixture {
  vr::topic_matcher matcher;
  std::vector<std::string> topics;  // half of them match, half do not

  explicit fixture(std::size_t patterns) {
    std::mt19937_64 rng(42);
    std::vector<std::string> customers;
    for (int i = 0; i < 16; ++i) customers.push_back(uuid_from(rng));
    std::vector<std::string> exact;
    for (std::size_t i = 0; i < patterns; ++i) {
      const auto& customer = customers[i % customers.size()];
      if (i % 100 == 99) {
        matcher.add("customer_id:" + customer + ":queue:*");
        continue;
      }
      exact.push_back("customer_id:" + customer + ":call:" + uuid_from(rng));
      matcher.add(exact.back());
    }
    const std::size_t sample = 4096;
    for (std::size_t i = 0; i < sample; ++i) {
      if (i % 2 == 0 && !exact.empty()) {
        topics.push_back(exact[rng() % exact.size()]);
      } else {
        topics.push_back("customer_id:" + customers[rng() % customers.size()] + ":call:" + uuid_from(rng));
      }
    }
  }
};

// Google Benchmark calls the function several times while it sizes the run; building a million
// patterns each time would dominate the wall time, so each size is built once.
const fixture& fixture_for(std::size_t patterns) {
  static std::map<std::size_t, std::unique_ptr<fixture>> cache;
  auto& slot = cache[patterns];
  if (!slot) slot = std::make_unique<fixture>(patterns);
  return *slot;
}

void bm_match(benchmark::State& state) {
  const fixture& f = fixture_for(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0, hits = 0;
  for (auto _ : state) {
    hits += f.matcher.matches(f.topics[i]) ? 1 : 0;
    if (++i == f.topics.size()) i = 0;
  }
  benchmark::DoNotOptimize(hits);
  state.counters["patterns"] = static_cast<double>(f.matcher.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK(bm_match)->Arg(10)->Arg(10000)->Arg(1000000);

BENCHMARK_MAIN();
