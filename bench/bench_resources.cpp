// Allocate/free cost of gpumem's resources side by side with cudaMalloc (cuda_memory_resource)
// and the driver's stream-ordered pool (cuda_async_memory_resource), in one run:
//   pair/<resource>/<bytes>        one allocate+deallocate pair on one stream (target T1)
//   random/<resource>/<n>          RMM's random-allocation workload with n allocations (T2)
//   threads/<resource>             pairs per second on 1..16 threads, each on its per-thread
//                                  default stream (T5)
//   threads_own_stream/<resource>  the same, each thread on a non-blocking stream of its own
//   threads_legacy/<resource>      the same, every thread on the legacy default stream (0)
//   streams/<resource>             pairs round-robin over 4 streams
// Run it on the GPU machine; scripts/bench.sh records the results.

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gpumem/cuda_device.hpp"
#include "gpumem/cuda_stream.hpp"
#include "gpumem/mr/arena_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "resource_kinds.hpp"

namespace {

using gpumem::bench::make_resource;
using gpumem::bench::resource_kind;
using gpumem::bench::resource_name;

std::unique_ptr<gpumem::mr::device_memory_resource> current;
cudaStream_t bench_stream = nullptr;

constexpr std::size_t kMiB = std::size_t{1} << 20;

void make_small(const benchmark::State& state) {
  current = make_resource(static_cast<resource_kind>(state.range(0)), std::size_t{1} << 30);
}
void make_large(const benchmark::State& state) {
  // The random workload keeps tens of GiB live at 100 000 allocations.
  current = make_resource(static_cast<resource_kind>(state.range(0)),
                          gpumem::percent_of_free_device_memory(90));
}
void destroy(const benchmark::State&) {
  current.reset();
}

void BM_pair(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(1));
  auto& resource = *current;
  for (auto _ : state) {
    void* block = resource.allocate(bytes, bench_stream);
    benchmark::DoNotOptimize(block);
    resource.deallocate(block, bytes, bench_stream);
  }
  state.SetLabel(resource_name(static_cast<resource_kind>(state.range(0))));
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

/// RMM's random-allocation workload: each step allocates (73 %) a size uniform in [1, 1 MiB] or
/// frees a random live block, until n allocations were made; then everything is freed.
struct random_workload {
  struct step {
    bool allocate;
    std::size_t size_or_victim;
  };
  std::vector<step> steps;

  explicit random_workload(std::size_t allocations) {
    std::mt19937_64 random{20261122};
    std::uniform_int_distribution<std::size_t> size{1, kMiB};
    std::uniform_real_distribution<double> coin{0.0, 1.0};
    std::size_t made = 0;
    std::size_t live = 0;
    while (made < allocations) {
      if (live == 0 || coin(random) < 0.73) {
        steps.push_back({true, size(random)});
        ++made;
        ++live;
      } else {
        steps.push_back({false, std::uniform_int_distribution<std::size_t>{0, live - 1}(random)});
        --live;
      }
    }
  }
};

void BM_random(benchmark::State& state) {
  const random_workload workload{static_cast<std::size_t>(state.range(1))};
  auto& resource = *current;
  std::vector<std::pair<void*, std::size_t>> live;
  live.reserve(workload.steps.size());
  std::size_t operations = 0;
  for (auto _ : state) {
    for (const auto& step : workload.steps) {
      if (step.allocate) {
        live.emplace_back(resource.allocate(step.size_or_victim, bench_stream),
                          step.size_or_victim);
      } else {
        std::swap(live[step.size_or_victim], live.back());
        resource.deallocate(live.back().first, live.back().second, bench_stream);
        live.pop_back();
      }
    }
    for (const auto& [block, size] : live)
      resource.deallocate(block, size, bench_stream);
    operations += workload.steps.size() + live.size();
    live.clear();
  }
  state.SetLabel(resource_name(static_cast<resource_kind>(state.range(0))));
  // Seconds per operation (allocations and frees), printed with an SI prefix (n, u, m).
  state.counters["s_per_op"] = benchmark::Counter(
      static_cast<double>(operations), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

/// 256-byte pairs on `stream`, by every thread of the benchmark.
void thread_pairs(benchmark::State& state, gpumem::cuda_stream_view stream) {
  auto& resource = *current;
  for (auto _ : state) {
    void* block = resource.allocate(256, stream);
    benchmark::DoNotOptimize(block);
    resource.deallocate(block, 256, stream);
  }
  state.SetLabel(resource_name(static_cast<resource_kind>(state.range(0))));
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_threads(benchmark::State& state) {
  thread_pairs(state, gpumem::cuda_stream_per_thread);
}

void BM_threads_own_stream(benchmark::State& state) {
  // Made before the timed loop, destroyed (and announced to the resources) after it.
  const gpumem::cuda_stream stream{gpumem::cuda_stream::flags::non_blocking};
  thread_pairs(state, stream.view());
  stream.synchronize();
}

void BM_threads_legacy(benchmark::State& state) {
  thread_pairs(state, gpumem::cuda_stream_view{});
}

std::vector<cudaStream_t> four_streams;

void BM_streams(benchmark::State& state) {
  auto& resource = *current;
  std::size_t next = 0;
  for (auto _ : state) {
    const cudaStream_t stream = four_streams[next++ % four_streams.size()];
    void* block = resource.allocate(4096, stream);
    benchmark::DoNotOptimize(block);
    resource.deallocate(block, 4096, stream);
  }
  state.SetLabel(resource_name(static_cast<resource_kind>(state.range(0))));
}

void register_benchmarks() {
  for (const resource_kind kind : gpumem::bench::all_resource_kinds()) {
    const auto index = static_cast<std::int64_t>(kind);
    const std::string name = resource_name(kind);
    for (const std::int64_t bytes : {256L, 4096L, 65536L, 1L << 20, 4L << 20, 16L << 20}) {
      benchmark::RegisterBenchmark(("pair/" + name).c_str(), BM_pair)
          ->Args({index, bytes})
          ->Setup(make_small)
          ->Teardown(destroy)
          ->MinTime(0.2);
    }
    for (const std::int64_t allocations : {1000L, 10000L, 100000L}) {
      if (kind == resource_kind::cuda && allocations > 10000) continue;  // minutes of cudaFree
      benchmark::RegisterBenchmark(("random/" + name).c_str(), BM_random)
          ->Args({index, allocations})
          ->Setup(make_large)
          ->Teardown(destroy)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(allocations >= 100000 ? 1 : 3);
    }
    if (kind != resource_kind::cuda) {
      using thread_benchmark = std::pair<const char*, void (*)(benchmark::State&)>;
      for (const auto& [prefix, function] :
           {thread_benchmark{"threads/", BM_threads},
            thread_benchmark{"threads_own_stream/", BM_threads_own_stream},
            thread_benchmark{"threads_legacy/", BM_threads_legacy}}) {
        benchmark::RegisterBenchmark((prefix + name).c_str(), function)
            ->Arg(index)
            ->Setup(make_small)
            ->Teardown(destroy)
            ->ThreadRange(1, 16)
            ->UseRealTime()
            ->MinTime(0.2);
      }
    }
    benchmark::RegisterBenchmark(("streams/" + name).c_str(), BM_streams)
        ->Arg(index)
        ->Setup(make_small)
        ->Teardown(destroy)
        ->MinTime(0.2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (gpumem::get_num_cuda_devices() == 0) {
    std::fprintf(stderr, "bench_resources: no CUDA device\n");
    return 1;
  }
  if (cudaStreamCreateWithFlags(&bench_stream, cudaStreamNonBlocking) != cudaSuccess) return 1;
  four_streams.resize(4);
  for (auto& stream : four_streams) {
    if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) return 1;
  }
  register_benchmarks();
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("gpumem", "resources side by side");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
