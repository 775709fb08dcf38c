// The CUDA runtime API as gpumem and its users rely on it, through libcudart.so.13: NVIDIA's
// on the GPU, the simulator's on the simulator. The same assertions on both platforms keep
// the simulator true to CUDA.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <numeric>
#include <thread>
#include <vector>

#include "cuda_platform.hpp"
#include "graph_node_types.hpp"

namespace {

namespace simulator = gpumem::test::simulator;

TEST(RuntimeApi, ThereIsADevice) {
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_GE(count, 1);
  int version = 0;
  ASSERT_EQ(cudaRuntimeGetVersion(&version), cudaSuccess);
  EXPECT_GE(version, 13000);
  ASSERT_EQ(cudaDriverGetVersion(&version), cudaSuccess);
  EXPECT_GE(version, 13000);
}

TEST(RuntimeApi, ZeroSizedMallocReturnsNull) {
  void* pointer = reinterpret_cast<void*>(1);
  ASSERT_EQ(cudaMalloc(&pointer, 0), cudaSuccess);
  EXPECT_EQ(pointer, nullptr);
  EXPECT_EQ(cudaFree(pointer), cudaSuccess);
}

TEST(RuntimeApi, FreeOfNullSucceeds) {
  EXPECT_EQ(cudaFree(nullptr), cudaSuccess);
}

TEST(RuntimeApi, MallocIsAlignedTo256Bytes) {
  std::vector<void*> blocks;
  for (const std::size_t size : {1UL, 100UL, 1000UL, 100000UL, 10000000UL}) {
    void* pointer = nullptr;
    ASSERT_EQ(cudaMalloc(&pointer, size), cudaSuccess);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(pointer) % 256, 0U) << size;
    blocks.push_back(pointer);
  }
  for (void* pointer : blocks)
    EXPECT_EQ(cudaFree(pointer), cudaSuccess);
}

TEST(RuntimeApi, FreeOfUnknownPointerIsInvalidValueAndTheLastError) {
  (void)cudaGetLastError();
  std::vector<char> host(256);
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_STREQ(cudaGetErrorName(cudaErrorInvalidValue), "cudaErrorInvalidValue");
  EXPECT_STREQ(cudaGetErrorString(cudaErrorMemoryAllocation), "out of memory");
}

TEST(RuntimeApi, OutOfMemoryIsMemoryAllocationError) {
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total_bytes), cudaSuccess);
  void* pointer = nullptr;
  EXPECT_EQ(cudaMalloc(&pointer, total_bytes * 2), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
}

TEST(RuntimeApi, InvalidDeviceIsRefused) {
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(cudaSetDevice(count), cudaErrorInvalidDevice);
  (void)cudaGetLastError();
  int device = -1;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  EXPECT_EQ(device, 0);
}

TEST(RuntimeApi, CopyRoundTrip) {
  std::vector<int> input(4096);
  std::iota(input.begin(), input.end(), 0);
  const std::size_t bytes = input.size() * sizeof(int);
  void* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, bytes), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(device, input.data(), bytes, cudaMemcpyHostToDevice), cudaSuccess);
  std::vector<int> output(input.size());
  ASSERT_EQ(cudaMemcpy(output.data(), device, bytes, cudaMemcpyDefault), cudaSuccess);
  EXPECT_EQ(output, input);
  ASSERT_EQ(cudaMemset(device, 0, bytes), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(output.data(), device, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(output[4095], 0);
  EXPECT_EQ(cudaFree(device), cudaSuccess);
}

TEST(RuntimeApi, StreamOrderedAllocation) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  void* pointer = nullptr;
  ASSERT_EQ(cudaMallocAsync(&pointer, 1 << 20, stream), cudaSuccess);
  EXPECT_NE(pointer, nullptr);
  ASSERT_EQ(cudaMemsetAsync(pointer, 0, 1 << 20, stream), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(pointer, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(RuntimeApi, PointerAttributesTellKinds) {
  void* device = nullptr;
  void* managed = nullptr;
  void* pinned = nullptr;
  ASSERT_EQ(cudaMalloc(&device, 4096), cudaSuccess);
  ASSERT_EQ(cudaMallocManaged(&managed, 4096), cudaSuccess);
  ASSERT_EQ(cudaMallocHost(&pinned, 4096), cudaSuccess);
  std::vector<char> pageable(4096);
  cudaPointerAttributes attributes{};
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, device), cudaSuccess);
  EXPECT_EQ(attributes.type, cudaMemoryTypeDevice);
  EXPECT_EQ(attributes.device, 0);
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, managed), cudaSuccess);
  EXPECT_EQ(attributes.type, cudaMemoryTypeManaged);
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, pinned), cudaSuccess);
  EXPECT_EQ(attributes.type, cudaMemoryTypeHost);
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, pageable.data()), cudaSuccess);
  EXPECT_EQ(attributes.type, cudaMemoryTypeUnregistered);
  EXPECT_EQ(cudaFree(device), cudaSuccess);
  EXPECT_EQ(cudaFree(managed), cudaSuccess);
  EXPECT_EQ(cudaFreeHost(pinned), cudaSuccess);
}

TEST(RuntimeApi, EventsAndStreamWaits) {
  cudaStream_t first = nullptr;
  cudaStream_t second = nullptr;
  ASSERT_EQ(cudaStreamCreate(&first), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&second, cudaStreamNonBlocking), cudaSuccess);
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(start, first), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(second, start, 0), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(stop, second), cudaSuccess);
  ASSERT_EQ(cudaEventSynchronize(stop), cudaSuccess);
  float milliseconds = -1.0F;
  ASSERT_EQ(cudaEventElapsedTime(&milliseconds, start, stop), cudaSuccess);
  EXPECT_GE(milliseconds, 0.0F);
  unsigned flags = 0;
  ASSERT_EQ(cudaStreamGetFlags(second, &flags), cudaSuccess);
  EXPECT_EQ(flags, static_cast<unsigned>(cudaStreamNonBlocking));
  EXPECT_EQ(cudaEventDestroy(start), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(stop), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(first), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(second), cudaSuccess);
}

TEST(RuntimeApi, CaptureStatusIsVisibleThroughTheRuntime) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  ASSERT_EQ(cudaStreamIsCapturing(stream, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusActive);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  ASSERT_EQ(cudaStreamIsCapturing(stream, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusNone);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

// What the shim's capture check relies on (Preload.CapturedAllocationsGoToCuda): CUDA records a
// captured cudaMallocAsync and cudaFreeAsync as the graph's allocation and free nodes, and the
// simulator does too.
TEST(RuntimeApi, CapturedStreamOrderedAllocationsAreGraphNodes) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  void* captured = nullptr;
  ASSERT_EQ(cudaMallocAsync(&captured, 4096, stream), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(captured, stream), cudaSuccess);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  EXPECT_EQ(gpumem::test::graph_node_types(graph),
            (std::vector{cudaGraphNodeTypeMemAlloc, cudaGraphNodeTypeMemFree}));
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(RuntimeApi, EveryThreadStartsOnDeviceZero) {
  int device = -1;
  cudaError_t status = cudaErrorUnknown;
  std::thread([&] { status = cudaGetDevice(&device); }).join();
  EXPECT_EQ(status, cudaSuccess);
  EXPECT_EQ(device, 0);
}

TEST(RuntimeApi, DefaultMemoryPoolAttributes) {
  cudaMemPool_t pool = nullptr;
  ASSERT_EQ(cudaDeviceGetDefaultMemPool(&pool, 0), cudaSuccess);
  std::uint64_t threshold = 1 << 20;
  ASSERT_EQ(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold),
            cudaSuccess);
  std::uint64_t read_back = 0;
  ASSERT_EQ(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &read_back),
            cudaSuccess);
  EXPECT_EQ(read_back, threshold);
  threshold = 0;
  ASSERT_EQ(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold),
            cudaSuccess);
}

TEST(RuntimeApi, SimulatorRuntimeFindsTheDriverThroughGetProcAddress) {
  GPUMEM_REQUIRE_SIMULATOR();
  simulator::reset_call_counts();
  void* pointer = nullptr;
  ASSERT_EQ(cudaMalloc(&pointer, 512), cudaSuccess);
  ASSERT_EQ(cudaFree(pointer), cudaSuccess);
  EXPECT_EQ(simulator::call_count("cuMemAlloc_v2"), 1U);
  EXPECT_EQ(simulator::call_count("cuMemFree_v2"), 1U);
  EXPECT_GT(simulator::call_count("cuCtxGetCurrent"), 0U);
}

TEST(RuntimeApi, SimulatorLeavesNoAllocationBehind) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t before = simulator::outstanding_allocations();
  void* pointer = nullptr;
  ASSERT_EQ(cudaMallocManaged(&pointer, 100), cudaSuccess);
  EXPECT_EQ(simulator::outstanding_allocations(), before + 1);
  ASSERT_EQ(cudaFree(pointer), cudaSuccess);
  EXPECT_EQ(simulator::outstanding_allocations(), before);
}

}  // namespace
