// Programs built with --default-stream per-thread (CUDA_API_PER_THREAD_DEFAULT_STREAM) call
// the runtime's _ptsz/_ptds entry points, which must reach the driver's per-thread variants.
#define CUDA_API_PER_THREAD_DEFAULT_STREAM 1
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "cuda_platform.hpp"

namespace {

TEST(RuntimePerThreadStream, AsyncAllocationOnThePerThreadStream) {
  void* pointer = nullptr;
  ASSERT_EQ(cudaMallocAsync(&pointer, 4096, cudaStreamPerThread), cudaSuccess);
  ASSERT_EQ(cudaMemsetAsync(pointer, 0, 4096, nullptr), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(pointer, nullptr), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
}

TEST(RuntimePerThreadStream, SimulatorSeesThePerThreadDriverVariants) {
  GPUMEM_REQUIRE_SIMULATOR();
  namespace simulator = gpumem::test::simulator;
  simulator::reset_call_counts();
  void* pointer = nullptr;
  ASSERT_EQ(cudaMallocAsync(&pointer, 4096, nullptr), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(pointer, nullptr), cudaSuccess);
  EXPECT_EQ(simulator::call_count("cuMemAllocAsync_ptsz"), 1U);
  EXPECT_EQ(simulator::call_count("cuMemFreeAsync_ptsz"), 1U);
  EXPECT_EQ(simulator::call_count("cuMemAllocAsync"), 0U);
}

}  // namespace
