// The CUDA allocation calls as an unmodified program makes them: cudaMalloc+cudaFree pairs and
// warm cudaMallocAsync+cudaFreeAsync pairs, on one thread and on 1 to 16 threads; and the
// driver calls the shim itself makes, to say where its time goes. Built twice, with the shared
// and with the static CUDA runtime (nvcc's default), and run plain and under
// libgpumem_preload.so by scripts/bench-shim.sh, which puts the runs side by side (targets T3,
// T4 and T5).

#include <benchmark/benchmark.h>
#include <cuda.h>
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

/// Pairs on every thread at once: cudaMalloc+cudaFree (256 B).
void BM_threads_malloc_free(benchmark::State& state) {
  for (auto _ : state) {
    void* block = nullptr;
    if (cudaMalloc(&block, 256) != cudaSuccess) state.SkipWithError("cudaMalloc failed");
    benchmark::DoNotOptimize(block);
    if (cudaFree(block) != cudaSuccess) state.SkipWithError("cudaFree failed");
  }
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

/// Warm cudaMallocAsync+cudaFreeAsync pairs (256 B) on every thread at once: range(0) 1, each
/// thread on a non-blocking stream of its own; 0, all on the legacy default stream.
void BM_threads_async(benchmark::State& state) {
  cudaStream_t own = nullptr;
  if (state.range(0) == 1 && cudaStreamCreateWithFlags(&own, cudaStreamNonBlocking) != cudaSuccess)
    state.SkipWithError("cudaStreamCreate failed");
  for (auto _ : state) {
    void* block = nullptr;
    if (cudaMallocAsync(&block, 256, own) != cudaSuccess)
      state.SkipWithError("cudaMallocAsync failed");
    benchmark::DoNotOptimize(block);
    if (cudaFreeAsync(block, own) != cudaSuccess) state.SkipWithError("cudaFreeAsync failed");
  }
  cudaStreamSynchronize(own);
  if (own != nullptr) cudaStreamDestroy(own);
  state.SetLabel(state.range(0) == 1 ? "own stream" : "legacy stream");
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// The driver calls an interposed allocation or free may make (the shim's floor).

void BM_driver_ctx_get_current(benchmark::State& state) {
  CUcontext context = nullptr;
  for (auto _ : state) {
    cuCtxGetCurrent(&context);
    benchmark::DoNotOptimize(context);
  }
}

void BM_driver_stream_is_capturing(benchmark::State& state) {
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  for (auto _ : state) {
    cuStreamIsCapturing(reinterpret_cast<CUstream>(stream), &status);
    benchmark::DoNotOptimize(status);
  }
}

/// The context's id: asked at every allocation that reaches the shim through the driver (a
/// statically linked runtime's), to notice a device reset.
void BM_driver_ctx_get_id(benchmark::State& state) {
  CUcontext context = nullptr;
  cuCtxGetCurrent(&context);
  unsigned long long id = 0;
  for (auto _ : state) {
    cuCtxGetId(context, &id);
    benchmark::DoNotOptimize(id);
  }
}

/// A device barrier with nothing to wait for: the quarantine's, per 1 024 frees.
void BM_driver_ctx_synchronize_idle(benchmark::State& state) {
  for (auto _ : state)
    cuCtxSynchronize();
}

}  // namespace

BENCHMARK(BM_malloc_free)->Arg(256)->Arg(1 << 20)->Arg(64 << 20)->MinTime(0.3);
BENCHMARK(BM_malloc_free_async)->Arg(256)->Arg(1 << 20)->Arg(64 << 20)->MinTime(0.3);
BENCHMARK(BM_threads_malloc_free)->ThreadRange(1, 16)->UseRealTime()->MinTime(0.3);
BENCHMARK(BM_threads_async)->Arg(1)->Arg(0)->ThreadRange(1, 16)->UseRealTime()->MinTime(0.3);
BENCHMARK(BM_driver_ctx_get_current)->MinTime(0.2);
BENCHMARK(BM_driver_stream_is_capturing)->MinTime(0.2);
BENCHMARK(BM_driver_ctx_get_id)->MinTime(0.2);
BENCHMARK(BM_driver_ctx_synchronize_idle)->MinTime(0.2);

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
