#pragma once
// A GoogleTest fixture with two non-blocking CUDA streams, for tests of stream-ordered reuse.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

namespace gpumem::test {

/// Creates two non-blocking streams before each test and destroys them after it.
class stream_pair_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(cudaStreamCreateWithFlags(&first_, cudaStreamNonBlocking), cudaSuccess);
    ASSERT_EQ(cudaStreamCreateWithFlags(&second_, cudaStreamNonBlocking), cudaSuccess);
  }
  void TearDown() override {
    EXPECT_EQ(cudaStreamDestroy(first_), cudaSuccess);
    EXPECT_EQ(cudaStreamDestroy(second_), cudaSuccess);
  }

  cudaStream_t first_ = nullptr;   ///< the first stream
  cudaStream_t second_ = nullptr;  ///< the second stream
};

}  // namespace gpumem::test
