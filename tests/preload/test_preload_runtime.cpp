// A program linked with the shared CUDA runtime, run under libgpumem_preload.so (ctest sets
// LD_PRELOAD and the GPUMEM_* variables each test names). On the simulator and on the GPU.
// Sub-allocation is seen through CUDA itself: cuMemGetAddressRange reports the allocation a
// pointer lies in, which for a pooled block is the pool's slab, not the block.

#include <cuda.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cuda_platform.hpp"
#include "graph_node_types.hpp"

namespace {

namespace simulator = gpumem::test::simulator;
constexpr std::size_t kMiB = std::size_t{1} << 20;

/// The start and size of the CUDA allocation that holds `pointer`.
std::pair<void*, std::size_t> allocation_range(void* pointer) {
  using range_function = CUresult (*)(CUdeviceptr*, size_t*, CUdeviceptr);
  static auto* range = [] {
    void* function = nullptr;
    cudaDriverEntryPointQueryResult status{};
    (void)cudaGetDriverEntryPointByVersion(
        "cuMemGetAddressRange", &function, 13000, cudaEnableDefault, &status);
    return reinterpret_cast<range_function>(function);
  }();
  CUdeviceptr base = 0;
  size_t size = 0;
  if (range == nullptr ||
      range(&base, &size, reinterpret_cast<CUdeviceptr>(pointer)) != CUDA_SUCCESS)
    return {nullptr, 0};
  return {reinterpret_cast<void*>(base), size};
}

bool preloaded() {
  return dlsym(RTLD_DEFAULT, "gpumem_preload_version") != nullptr;
}

class Preload : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(preloaded()) << "run this program with LD_PRELOAD=libgpumem_preload.so";
  }
};

TEST_F(Preload, CudaMallocIsServedFromTheStack) {
  void* first = nullptr;
  void* second = nullptr;
  ASSERT_EQ(cudaMalloc(&first, 1000), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&second, 1000), cudaSuccess);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(second) % 256, 0U);
  // Both blocks lie in one larger allocation: a slab of the pool.
  const auto [base, size] = allocation_range(second);
  EXPECT_NE(base, second);
  EXPECT_GT(size, 2000U);
  EXPECT_EQ(allocation_range(first).first, base);
  std::vector<int> data(250, 7);
  ASSERT_EQ(cudaMemcpy(second, data.data(), 1000, cudaMemcpyHostToDevice), cudaSuccess);
  std::vector<int> back(250);
  ASSERT_EQ(cudaMemcpy(back.data(), second, 1000, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(back, data);
  EXPECT_EQ(cudaFree(first), cudaSuccess);
  EXPECT_EQ(cudaFree(second), cudaSuccess);
}

TEST_F(Preload, SimulatorSeesOneSlabForManyAllocations) {
  GPUMEM_REQUIRE_SIMULATOR();
  std::vector<void*> warm(1);
  ASSERT_EQ(cudaMalloc(&warm[0], 256), cudaSuccess);  // the stack exists now
  simulator::reset_call_counts();
  for (int i = 0; i < 100; ++i) {
    void* block = nullptr;
    ASSERT_EQ(cudaMalloc(&block, 4096), cudaSuccess);
    ASSERT_EQ(cudaFree(block), cudaSuccess);
  }
  EXPECT_LE(simulator::call_count("cuMemAlloc_v2"), 1U);  // at most one new slab
  EXPECT_EQ(simulator::call_count("cuMemFree_v2"), 0U);
  EXPECT_EQ(cudaFree(warm[0]), cudaSuccess);
}

// Until the program begins a capture no stream captures, so stream-ordered requests ask the
// driver nothing about captures (cuStreamIsCapturing, about 26 ns on an H200, on each
// allocation and free); after the first begin they ask, and a captured allocation goes to
// CUDA (CapturedAllocationsGoToCuda). Alone in its process (ctest runs it with a filter): any
// earlier capture in the process would make them ask.
TEST_F(Preload, StreamOrderedRequestsAskNothingAboutCapturesBeforeTheFirstCapture) {
  GPUMEM_REQUIRE_SIMULATOR();
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  const auto pairs = [&](int count) {
    for (int i = 0; i < count; ++i) {
      void* block = nullptr;
      ASSERT_EQ(cudaMallocAsync(&block, 4096, stream), cudaSuccess);
      ASSERT_EQ(cudaFreeAsync(block, stream), cudaSuccess);
    }
  };
  pairs(1);  // the stack exists now
  simulator::reset_call_counts();
  pairs(100);
  EXPECT_EQ(simulator::call_count("cuStreamIsCapturing"), 0U);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  simulator::reset_call_counts();
  pairs(1);
  EXPECT_EQ(simulator::call_count("cuStreamIsCapturing"), 2U) << "one for each request";
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST_F(Preload, FreedMemoryIsNotReusedBeforeADeviceBarrier) {
  // The default free policy (quarantine): a block freed with cudaFree may still be read by a
  // kernel on a non-blocking stream; it is not handed out again until the device is idle.
  void* first = nullptr;
  ASSERT_EQ(cudaMalloc(&first, 8192), cudaSuccess);
  ASSERT_EQ(cudaFree(first), cudaSuccess);
  void* second = nullptr;
  ASSERT_EQ(cudaMalloc(&second, 8192), cudaSuccess);
  EXPECT_NE(second, first);
  EXPECT_EQ(cudaFree(second), cudaSuccess);
}

// GPUMEM_QUARANTINE_SIZE=0: a quarantine of no bytes (a fixed limit, not the default that
// grows) waits for the device at every free, so the next allocation reuses the block.
TEST_F(Preload, AQuarantineOfNoBytesReleasesEveryFree) {
  void* first = nullptr;
  ASSERT_EQ(cudaMalloc(&first, 8192), cudaSuccess);
  ASSERT_EQ(cudaFree(first), cudaSuccess);
  void* second = nullptr;
  ASSERT_EQ(cudaMalloc(&second, 8192), cudaSuccess);
  EXPECT_EQ(second, first);
  EXPECT_EQ(cudaFree(second), cudaSuccess);
}

TEST_F(Preload, StreamOrderedBlocksAreReusedOnTheirStream) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  void* first = nullptr;
  ASSERT_EQ(cudaMallocAsync(&first, 65536, stream), cudaSuccess);
  EXPECT_NE(allocation_range(first).first, nullptr);
  ASSERT_EQ(cudaFreeAsync(first, stream), cudaSuccess);
  void* second = nullptr;
  ASSERT_EQ(cudaMallocAsync(&second, 65536, stream), cudaSuccess);
  EXPECT_EQ(second, first);
  ASSERT_EQ(cudaFreeAsync(second, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST_F(Preload, BlocksOfADestroyedStreamAreReusedWithoutTouchingIt) {
  // CUDA lets a program destroy a stream right after freeing on it; the shim records its last
  // event before the stream goes and never touches the handle again.
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  void* block = nullptr;
  ASSERT_EQ(cudaMallocAsync(&block, 3 * kMiB, stream), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(block, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  if (gpumem::test::on_simulator()) simulator::reset_call_counts();
  testing::internal::CaptureStderr();
  void* again = nullptr;
  ASSERT_EQ(cudaMalloc(&again, 3 * kMiB), cudaSuccess);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(simulator::call_count("cuCtxSynchronize"), 0U);  // the recorded event was enough
  }
  EXPECT_EQ(cudaFree(again), cudaSuccess);
}

TEST_F(Preload, FreesOfForeignPointersGoToCuda) {
  EXPECT_EQ(cudaFree(nullptr), cudaSuccess);
  std::vector<char> host(4096);
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);
  (void)cudaGetLastError();
}

TEST_F(Preload, DoubleFreeIsRefusedAndTheStackSurvives) {
  void* block = nullptr;
  ASSERT_EQ(cudaMalloc(&block, 4096), cudaSuccess);
  ASSERT_EQ(cudaFree(block), cudaSuccess);
  EXPECT_EQ(cudaFree(block), cudaErrorInvalidValue);
  (void)cudaGetLastError();
  void* again = nullptr;
  ASSERT_EQ(cudaMalloc(&again, 4096), cudaSuccess);
  ASSERT_EQ(cudaMemset(again, 0, 4096), cudaSuccess);
  EXPECT_EQ(cudaFree(again), cudaSuccess);
}

// Alone in its process (ctest runs it with a filter): the bound counts every warning of the
// process.
TEST_F(Preload, WarningsAreBounded) {
  void* block = nullptr;
  ASSERT_EQ(cudaMalloc(&block, 4096), cudaSuccess);
  ASSERT_EQ(cudaFree(block), cudaSuccess);
  testing::internal::CaptureStderr();
  for (int attempt = 0; attempt < 50; ++attempt)
    EXPECT_EQ(cudaFree(block), cudaErrorInvalidValue);
  const std::string said = testing::internal::GetCapturedStderr();
  (void)cudaGetLastError();
  std::size_t warnings = 0;
  for (std::size_t at = said.find("freed twice?"); at != std::string::npos;
       at = said.find("freed twice?", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 20U) << said;
  EXPECT_NE(said.find("gpumem: more warnings follow; not shown (20 shown)"), std::string::npos)
      << said;
  EXPECT_EQ(said.find("more warnings follow"), said.rfind("more warnings follow")) << said;
}

TEST_F(Preload, MemoryInfoCountsWhatThePoolHoldsAsFree) {
  size_t free_before = 0;
  size_t total = 0;
  void* warm = nullptr;
  ASSERT_EQ(cudaMalloc(&warm, 256), cudaSuccess);
  ASSERT_EQ(cudaMemGetInfo(&free_before, &total), cudaSuccess);
  void* block = nullptr;
  ASSERT_EQ(cudaMalloc(&block, 64 * kMiB), cudaSuccess);
  ASSERT_EQ(cudaFree(block), cudaSuccess);
  size_t free_after = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_after, &total), cudaSuccess);
  // The pool keeps the 64 MiB, but they are free for the program.
  EXPECT_GE(free_after + 4 * kMiB, free_before);
  size_t only_total = 0;
  EXPECT_EQ(cudaMemGetInfo(nullptr, &only_total), cudaSuccess);
  EXPECT_EQ(only_total, total);
  EXPECT_EQ(cudaFree(warm), cudaSuccess);
}

// --- tests run with their own GPUMEM_* variables (ctest runs each alone)

/// The access `device` has to the memory at `pointer` (cuMemGetAccess), through the runtime's
/// driver entry point; -1 when it cannot say.
long long access_of(void* pointer, int device) {
  using access_function = CUresult (*)(unsigned long long*, const CUmemLocation*, CUdeviceptr);
  static auto* access = [] {
    void* function = nullptr;
    cudaDriverEntryPointQueryResult status{};
    (void)cudaGetDriverEntryPointByVersion(
        "cuMemGetAccess", &function, 13000, cudaEnableDefault, &status);
    return reinterpret_cast<access_function>(function);
  }();
  CUmemLocation location{};
  location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  location.id = device;
  unsigned long long flags = 0;
  if (access == nullptr ||
      access(&flags, &location, reinterpret_cast<CUdeviceptr>(pointer)) != CUDA_SUCCESS)
    return -1;
  return static_cast<long long>(flags);
}

// Two devices, the default stack (a pool over the expandable source): memory mapped with
// cuMemMap is reachable from another device only once granted, so enabling peer access grants
// it, for stacks built before and after, and for memory mapped later.
TEST_F(Preload, PeerAccessReachesTheExpandableSource) {
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "needs two devices";
  int can_access = 0;
  ASSERT_EQ(cudaDeviceCanAccessPeer(&can_access, 0, 1), cudaSuccess);
  if (can_access == 0) GTEST_SKIP() << "device 0 cannot access device 1";
  constexpr long long kReadWrite = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  // Device 0 may reach device 1 before device 1 has a stack.
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  ASSERT_EQ(cudaDeviceEnablePeerAccess(1, 0), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  void* on_one = nullptr;
  ASSERT_EQ(cudaMalloc(&on_one, 4096), cudaSuccess);
  EXPECT_EQ(access_of(on_one, 1), kReadWrite);
  EXPECT_EQ(access_of(on_one, 0), kReadWrite) << "granted when device 1's stack was built";
  void* grown = nullptr;
  ASSERT_EQ(cudaMalloc(&grown, std::size_t{64} << 20), cudaSuccess);
  EXPECT_EQ(access_of(grown, 0), kReadWrite) << "granted on memory mapped later";
  // Device 1 may reach device 0's stack, built already.
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  void* on_zero = nullptr;
  ASSERT_EQ(cudaMalloc(&on_zero, 4096), cudaSuccess);
  EXPECT_EQ(access_of(on_zero, 1), CU_MEM_ACCESS_FLAGS_PROT_NONE) << "not enabled yet";
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  ASSERT_EQ(cudaDeviceEnablePeerAccess(0, 0), cudaSuccess);
  EXPECT_EQ(access_of(on_zero, 1), kReadWrite) << "granted on the stack built before";
  // Disabled again (simpleP2P does at its end): taken back, as for cudaMalloc memory.
  ASSERT_EQ(cudaDeviceDisablePeerAccess(0), cudaSuccess);
  EXPECT_EQ(access_of(on_zero, 1), CU_MEM_ACCESS_FLAGS_PROT_NONE) << "revoked";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  void* later = nullptr;
  ASSERT_EQ(cudaMalloc(&later, std::size_t{64} << 20), cudaSuccess);
  EXPECT_EQ(access_of(later, 1), CU_MEM_ACCESS_FLAGS_PROT_NONE) << "not granted on new memory";
  EXPECT_EQ(cudaFree(later), cudaSuccess);
  EXPECT_EQ(cudaFree(on_one), cudaSuccess);
  EXPECT_EQ(cudaFree(grown), cudaSuccess);
  EXPECT_EQ(cudaFree(on_zero), cudaSuccess);
}

// streamOrderedAllocationP2P's way: the program lets device 1 reach device 0's memory pool, then
// device 1 reaches what cudaMallocAsync hands out on device 0, which the shim serves.
TEST_F(Preload, MemPoolAccessReachesTheExpandableSource) {
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "needs two devices";
  int can_access = 0;
  ASSERT_EQ(cudaDeviceCanAccessPeer(&can_access, 1, 0), cudaSuccess);
  if (can_access == 0) GTEST_SKIP() << "device 1 cannot access device 0";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  void* before = nullptr;
  ASSERT_EQ(cudaMallocAsync(&before, 4096, cudaStreamPerThread), cudaSuccess);
  EXPECT_EQ(access_of(before, 1), CU_MEM_ACCESS_FLAGS_PROT_NONE) << "not granted yet";
  cudaMemPool_t pool = nullptr;
  ASSERT_EQ(cudaDeviceGetDefaultMemPool(&pool, 0), cudaSuccess);
  cudaMemAccessDesc access{};
  access.location.type = cudaMemLocationTypeDevice;
  access.location.id = 1;
  access.flags = cudaMemAccessFlagsProtReadWrite;
  ASSERT_EQ(cudaMemPoolSetAccess(pool, &access, 1), cudaSuccess);
  EXPECT_EQ(access_of(before, 1), CU_MEM_ACCESS_FLAGS_PROT_READWRITE) << "granted on the stack";
  void* grown = nullptr;
  ASSERT_EQ(cudaMallocAsync(&grown, std::size_t{64} << 20, cudaStreamPerThread), cudaSuccess);
  EXPECT_EQ(access_of(grown, 1), CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
      << "and on memory mapped later";
  // Peer access and pool access are independent: taking one back leaves the other's grant.
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  ASSERT_EQ(cudaDeviceEnablePeerAccess(0, 0), cudaSuccess);
  access.flags = cudaMemAccessFlagsProtNone;
  ASSERT_EQ(cudaMemPoolSetAccess(pool, &access, 1), cudaSuccess);
  EXPECT_EQ(access_of(grown, 1), CU_MEM_ACCESS_FLAGS_PROT_READWRITE) << "peer access still holds";
  ASSERT_EQ(cudaDeviceDisablePeerAccess(0), cudaSuccess);
  EXPECT_EQ(access_of(grown, 1), CU_MEM_ACCESS_FLAGS_PROT_NONE) << "neither holds now";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  // The sample then frees device 0's block on device 1's stream: device 0's pool can order
  // reuse only after its own device's streams, so the shim waits for that stream first.
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  cudaStream_t on_one = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&on_one, cudaStreamNonBlocking), cudaSuccess);
  if (gpumem::test::on_simulator()) simulator::reset_call_counts();
  EXPECT_EQ(cudaFreeAsync(before, on_one), cudaSuccess);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(simulator::call_count("cuStreamSynchronize"), 1U) << "the free waited for it";
  }
  EXPECT_EQ(cudaStreamDestroy(on_one), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  EXPECT_EQ(cudaFreeAsync(grown, cudaStreamPerThread), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(cudaStreamPerThread), cudaSuccess);
}

// The shim remembers the device of the stream a thread frees on last; CUDA hands a destroyed
// stream's handle out again, here for a stream of the other device: a free of device 0's block
// on it is a free on another device's stream, and waits for it (a stale answer would put the
// block in device 0's lists under a stream device 0 cannot order after).
TEST_F(Preload, EachDeviceAfterAStreamHandleIsReused) {  // GPUMEM_SIM_DEVICES=2
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "needs two devices";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  cudaStream_t first = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&first, cudaStreamNonBlocking), cudaSuccess);
  void* freed_early = nullptr;
  void* freed_late = nullptr;
  ASSERT_EQ(cudaMallocAsync(&freed_early, 4096, first), cudaSuccess);
  ASSERT_EQ(cudaMallocAsync(&freed_late, 4096, first), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(freed_early, first), cudaSuccess);  // remembered: device 0
  ASSERT_EQ(cudaStreamSynchronize(first), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(first), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  cudaStream_t second = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&second, cudaStreamNonBlocking), cudaSuccess);
  if (second != first) {
    EXPECT_EQ(cudaStreamDestroy(second), cudaSuccess);
    ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
    EXPECT_EQ(cudaFree(freed_late), cudaSuccess);
    GTEST_SKIP() << "CUDA did not hand the destroyed stream's handle out again";
  }
  if (gpumem::test::on_simulator()) simulator::reset_call_counts();
  EXPECT_EQ(cudaFreeAsync(freed_late, second), cudaSuccess);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(simulator::call_count("cuStreamSynchronize"), 1U)
        << "the free was taken for one on device 0's own stream";
  }
  EXPECT_EQ(cudaStreamDestroy(second), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
}

TEST_F(Preload, EachDeviceHasItsOwnStack) {  // two devices (GPUMEM_SIM_DEVICES=2 on the simulator)
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "needs two devices";
  void* on_zero[2] = {};
  void* on_one[2] = {};
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&on_zero[0], 4096), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&on_zero[1], 4096), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&on_one[0], 4096), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&on_one[1], 4096), cudaSuccess);
  cudaPointerAttributes attributes{};
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, on_zero[1]), cudaSuccess);
  EXPECT_EQ(attributes.device, 0);
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, on_one[1]), cudaSuccess);
  EXPECT_EQ(attributes.device, 1);
  // Each device's blocks come from that device's own slab.
  EXPECT_NE(allocation_range(on_one[1]).first, on_one[1]);
  EXPECT_EQ(allocation_range(on_one[0]).first, allocation_range(on_one[1]).first);
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  EXPECT_NE(allocation_range(on_zero[0]).first, allocation_range(on_one[0]).first);
  // A free runs with the owning device current, whichever device the caller has.
  EXPECT_EQ(cudaFree(on_zero[0]), cudaSuccess);
  EXPECT_EQ(cudaFree(on_zero[1]), cudaSuccess);
  int current = -1;
  ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
  EXPECT_EQ(current, 1);
  EXPECT_EQ(cudaFree(on_one[0]), cudaSuccess);
  EXPECT_EQ(cudaFree(on_one[1]), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
}

TEST_F(Preload, BypassSizeGoesToCuda) {  // GPUMEM_BYPASS_ABOVE=1MiB
  void* large = nullptr;
  ASSERT_EQ(cudaMalloc(&large, 2 * kMiB), cudaSuccess);
  const auto [base, size] = allocation_range(large);
  EXPECT_EQ(base, large);
  EXPECT_GE(size, 2 * kMiB);
  // CUDA's own allocation: CUDA's own IPC handle (the simulator has no IPC).
  if (!gpumem::test::on_simulator()) {
    cudaIpcMemHandle_t handle{};
    EXPECT_EQ(cudaIpcGetMemHandle(&handle, large), cudaSuccess);
  }
  EXPECT_EQ(cudaFree(large), cudaSuccess);
}

TEST_F(Preload, IpcHandleOfAServedBlockIsRefused) {
  void* block = nullptr;
  ASSERT_EQ(cudaMalloc(&block, 4096), cudaSuccess);
  ASSERT_NE(allocation_range(block).first, block) << "the block should be inside a slab";
  testing::internal::CaptureStderr();
  cudaIpcMemHandle_t handle{};
  // A handle would name the whole slab: the other process would map other blocks too.
  EXPECT_EQ(cudaIpcGetMemHandle(&handle, block), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaIpcGetMemHandle(&handle, static_cast<char*>(block) + 256), cudaErrorInvalidValue);
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("GPUMEM_BYPASS_ABOVE"), std::string::npos) << said;
  (void)cudaGetLastError();
  EXPECT_EQ(cudaFree(block), cudaSuccess);
}

TEST_F(Preload, LimitIsTheTotalAndOutOfMemoryIsCudasCode) {  // GPUMEM_STACK=limit,pool,cuda
                                                             // GPUMEM_LIMIT_SIZE=64MiB
  size_t free_bytes = 0;
  size_t total = 0;
  void* warm = nullptr;
  ASSERT_EQ(cudaMalloc(&warm, 256), cudaSuccess);
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  EXPECT_EQ(total, 64 * kMiB);
  EXPECT_LE(free_bytes, 64 * kMiB);
  void* block = nullptr;
  testing::internal::CaptureStderr();
  EXPECT_EQ(cudaMalloc(&block, 128 * kMiB), cudaErrorMemoryAllocation);
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("gpumem: out of memory on device 0: 134217728 bytes requested"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("largest free block"), std::string::npos) << said;
  // As with CUDA's own failure, the runtime remembers it until asked.
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(cudaFree(warm), cudaSuccess);
}

// A stream-ordered allocation and free made while the stream captures belong to the graph: CUDA
// records them as its allocation and free nodes. The shim must pass them to CUDA, not serve them
// from its pool (which would leave the graph without them). Warm pairs first, so the pool has a
// block the capture could wrongly take.
TEST_F(Preload, CapturedAllocationsGoToCuda) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  for (int i = 0; i < 4; ++i) {
    void* warm = nullptr;
    ASSERT_EQ(cudaMallocAsync(&warm, 4096, stream), cudaSuccess);
    ASSERT_EQ(cudaFreeAsync(warm, stream), cudaSuccess);
  }
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  void* captured = nullptr;
  ASSERT_EQ(cudaMallocAsync(&captured, 4096, stream), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(captured, stream), cudaSuccess);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);  // nothing synchronized
  EXPECT_EQ(gpumem::test::graph_node_types(graph),
            (std::vector{cudaGraphNodeTypeMemAlloc, cudaGraphNodeTypeMemFree}))
      << "the captured cudaMallocAsync and cudaFreeAsync must be the graph's nodes";
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

// GPUMEM_QUARANTINE_BLOCKS=1: every cudaFree asks for a device barrier, which CUDA refuses
// while a stream captures a graph; the freed block must then wait, not be handed out again.
TEST_F(Preload, BarrierRefusedDuringCaptureKeepsBlocksQuarantined) {
  void* block = nullptr;
  ASSERT_EQ(cudaMalloc(&block, 4096), cudaSuccess);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaFree(block), cudaSuccess);  // held by the shim: no barrier possible now
  cudaGraph_t graph = nullptr;
  if (cudaStreamEndCapture(stream, &graph) == cudaSuccess && graph != nullptr)
    (void)cudaGraphDestroy(graph);
  (void)cudaGetLastError();
  void* next = nullptr;
  ASSERT_EQ(cudaMalloc(&next, 4096), cudaSuccess);
  EXPECT_NE(next, block) << "a block freed during a capture was reused without a device barrier";
  EXPECT_EQ(cudaFree(next), cudaSuccess);  // a barrier now succeeds and releases both
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

// barrier_thread = "on" (ctest sets it, and runs each of these tests alone in its process: once
// any capture began, the barrier thread runs no barrier for the rest of the process, so an
// earlier test's capture would hide a capture the shim did not see). Another thread frees many
// blocks while this one captures a graph, begun by `begin`. The barrier they ask for runs on
// the shim's barrier thread, and must not break the capture, as a device synchronization in
// any thread would. (Without the barrier thread, the freeing thread's own barrier breaks it, as
// CUDA's cudaFree on another thread does.) Returns the graph the capture ended with.
template <typename Begin>
cudaGraph_t capture_while_another_thread_frees(Begin&& begin) {
  std::vector<void*> blocks(700);
  for (void*& block : blocks)
    EXPECT_EQ(cudaMalloc(&block, 256), cudaSuccess);
  void* target = nullptr;
  EXPECT_EQ(cudaMalloc(&target, 4096), cudaSuccess);
  cudaStream_t stream = nullptr;
  EXPECT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  EXPECT_EQ(begin(stream), cudaSuccess);
  EXPECT_EQ(cudaMemsetAsync(target, 1, 4096, stream), cudaSuccess);
  std::thread freeing{[&] {
    for (void* block : blocks)
      EXPECT_EQ(cudaFree(block), cudaSuccess);  // held: no CUDA call
  }};
  freeing.join();
  std::this_thread::sleep_for(std::chrono::milliseconds{50});  // (the barrier thread's turn)
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaFree(target), cudaSuccess);
  return graph;
}

TEST_F(Preload, BarrierThreadLeavesAnotherThreadsCaptureValid) {
  const cudaGraph_t graph = capture_while_another_thread_frees([](cudaStream_t stream) {
    return cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal);
  });
  ASSERT_NE(graph, nullptr);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
}

// The same for a capture into the program's own graph (cudaStreamBeginCaptureToGraph, which
// reaches the driver's cuStreamBeginCaptureToGraph: a hook of its own).
TEST_F(Preload, BarrierThreadLeavesACaptureIntoAGraphValid) {
  cudaGraph_t into = nullptr;
  ASSERT_EQ(cudaGraphCreate(&into, 0), cudaSuccess);
  const cudaGraph_t graph = capture_while_another_thread_frees([&](cudaStream_t stream) {
    return cudaStreamBeginCaptureToGraph(
        stream, into, nullptr, nullptr, 0, cudaStreamCaptureModeGlobal);
  });
  EXPECT_EQ(graph, into);
  EXPECT_EQ(cudaGraphDestroy(into), cudaSuccess);
}

// Alone in its process (ctest runs it with a filter): a device reset ends everything else.
TEST_F(Preload, DeviceResetStartsAFreshStack) {
  void* before = nullptr;
  ASSERT_EQ(cudaMalloc(&before, 4096), cudaSuccess);
  ASSERT_EQ(cudaDeviceReset(), cudaSuccess);  // the stack's slabs go with the context
  // The block from before the reset went with it: CUDA answers its free, as for any unknown
  // pointer. (Freed later, it could alias a new block at the same address, as with CUDA alone.)
  EXPECT_EQ(cudaFree(before), cudaErrorInvalidValue);
  (void)cudaGetLastError();
  // New blocks are usable memory, sub-allocated from a new stack.
  std::vector<void*> after(3);
  bool sub_allocated = false;
  for (void*& block : after) {
    ASSERT_EQ(cudaMalloc(&block, 4096), cudaSuccess);
    std::vector<int> data(1024, 5);
    ASSERT_EQ(cudaMemcpy(block, data.data(), 4096, cudaMemcpyHostToDevice), cudaSuccess);
    std::vector<int> back(1024);
    ASSERT_EQ(cudaMemcpy(back.data(), block, 4096, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT_EQ(back, data);
    const auto [base, size] = allocation_range(block);
    sub_allocated = sub_allocated || (base != nullptr && base != block && size > 4096);
  }
  EXPECT_TRUE(sub_allocated) << "no allocation after the reset came from a pool slab";
  for (void* block : after)
    EXPECT_EQ(cudaFree(block), cudaSuccess);
}

}  // namespace
