// The CUDA allocation calls as an unmodified program makes them: cudaMalloc+cudaFree pairs and
// warm cudaMallocAsync+cudaFreeAsync pairs. Built twice, with the shared and with the static
// CUDA runtime (nvcc's default), and run plain and under libgpumem_preload.so by
// scripts/bench-shim.sh, which puts the runs side by side (targets T3 and T4).

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdio>

namespace {

cudaStream_t stream = nullptr;

void BM_malloc_free(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* block = nullptr;
    if (cudaMalloc(&block, bytes) != cudaSuccess) state.SkipWithError("cudaMalloc failed");
    benchmark::DoNotOptimize(block);
    if (cudaFree(block) != cudaSuccess) state.SkipWithError("cudaFree failed");
  }
}

void BM_malloc_free_async(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* block = nullptr;
    if (cudaMallocAsync(&block, bytes, stream) != cudaSuccess)
      state.SkipWithError("cudaMallocAsync failed");
    benchmark::DoNotOptimize(block);
    if (cudaFreeAsync(block, stream) != cudaSuccess) state.SkipWithError("cudaFreeAsync failed");
  }
  cudaStreamSynchronize(stream);
}

}  // namespace

BENCHMARK(BM_malloc_free)->Arg(256)->Arg(1 << 20)->Arg(64 << 20)->MinTime(0.3);
BENCHMARK(BM_malloc_free_async)->Arg(256)->Arg(1 << 20)->Arg(64 << 20)->MinTime(0.3);

int main(int argc, char** argv) {
  if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
    std::fprintf(stderr, "bench_cuda_calls: no CUDA device\n");
    return 1;
  }
  // A warm driver pool: keep freed memory instead of giving it back at every synchronization.
  cudaMemPool_t pool = nullptr;
  std::uint64_t keep = UINT64_MAX;
  if (cudaDeviceGetDefaultMemPool(&pool, 0) == cudaSuccess) {
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
