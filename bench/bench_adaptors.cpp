// What an adaptor adds to each allocate and deallocate (target T6: statistics <= 20 ns,
// CSV logging <= 250 ns per event), beside the same upstream without an adaptor, in one run.
// The upstream is a pool, warm, on one stream, so its own cost is small and steady.

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "gpumem/cuda_device.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"
#include "gpumem/mr/logging_resource_adaptor.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"
#include "gpumem/mr/tracking_resource_adaptor.hpp"

namespace {

using pool_type = gpumem::mr::pool_memory_resource<gpumem::mr::cuda_memory_resource>;

gpumem::mr::cuda_memory_resource cuda_mr;
std::unique_ptr<pool_type> pool;
std::unique_ptr<gpumem::mr::device_memory_resource> adaptor;
cudaStream_t stream = nullptr;
const std::string log_path = "/tmp/gpumem_bench_log_" + std::to_string(::getpid()) + ".csv";

enum class adaptor_kind { none, statistics, logging, tracking, limiting };

void make(const benchmark::State& state) {
  pool = std::make_unique<pool_type>(cuda_mr, std::size_t{1} << 30);
  switch (static_cast<adaptor_kind>(state.range(0))) {
    case adaptor_kind::none:
      break;
    case adaptor_kind::statistics:
      adaptor = std::make_unique<gpumem::mr::statistics_resource_adaptor<pool_type>>(*pool);
      break;
    case adaptor_kind::logging:
      adaptor = std::make_unique<gpumem::mr::logging_resource_adaptor<pool_type>>(*pool, log_path);
      break;
    case adaptor_kind::tracking:
      adaptor = std::make_unique<gpumem::mr::tracking_resource_adaptor<pool_type>>(*pool);
      break;
    case adaptor_kind::limiting:
      adaptor = std::make_unique<gpumem::mr::limiting_resource_adaptor<pool_type>>(
          *pool, std::size_t{1} << 40);
      break;
  }
}

void destroy(const benchmark::State&) {
  adaptor.reset();
  pool.reset();
  std::remove(log_path.c_str());
}

void BM_adaptor_pair(benchmark::State& state) {
  gpumem::mr::device_memory_resource& resource = adaptor ? *adaptor : *pool;
  for (auto _ : state) {
    void* block = resource.allocate(256, stream);
    benchmark::DoNotOptimize(block);
    resource.deallocate(block, 256, stream);
  }
  // Two events (allocate and free) per iteration.
  state.counters["ns_per_event"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 2,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

int main(int argc, char** argv) {
  if (gpumem::get_num_cuda_devices() == 0 ||
      cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
    std::fprintf(stderr, "bench_adaptors: no CUDA device\n");
    return 1;
  }
  const char* names[] = {"none", "statistics", "logging", "tracking", "limiting"};
  for (int kind = 0; kind < 5; ++kind) {
    benchmark::RegisterBenchmark((std::string{"adaptor_pair/"} + names[kind]).c_str(),
                                 BM_adaptor_pair)
        ->Arg(kind)
        ->Setup(make)
        ->Teardown(destroy)
        ->MinTime(0.3);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
