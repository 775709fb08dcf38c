// The simulator's configuration through GPUMEM_SIM_* variables. ctest runs this program with
//   GPUMEM_SIM_DEVICES=2 GPUMEM_SIM_MEMORY=1GiB,512MiB GPUMEM_SIM_FAIL_ALLOCATION=3
//   GPUMEM_SIM_FAIL_ABOVE=256MiB GPUMEM_SIM_HIDE_MEMORY=100MiB
// (tests named Configured*), and with GPUMEM_SIM_MEMORY=lots (tests named Malformed*).

#include <gtest/gtest.h>

#include "driver/driver_entry_points.hpp"

namespace {

const gpumem::driver::driver_entry_points& cu() {
  static const auto library = gpumem::driver::load_driver_library();
  return library.legacy;
}

constexpr std::size_t kMiB = std::size_t{1} << 20;

TEST(Configured, DevicesAndTheirMemory) {
  ASSERT_EQ(cu().init(0), CUDA_SUCCESS);
  int count = 0;
  ASSERT_EQ(cu().device_get_count(&count), CUDA_SUCCESS);
  ASSERT_EQ(count, 2);
  std::size_t total = 0;
  ASSERT_EQ(cu().device_total_mem(&total, 0), CUDA_SUCCESS);
  EXPECT_EQ(total, 1024 * kMiB);
  ASSERT_EQ(cu().device_total_mem(&total, 1), CUDA_SUCCESS);
  EXPECT_EQ(total, 512 * kMiB);

  CUcontext context = nullptr;
  ASSERT_EQ(cu().primary_ctx_retain(&context, 1), CUDA_SUCCESS);
  ASSERT_EQ(cu().ctx_set_current(context), CUDA_SUCCESS);
  std::size_t free_bytes = 0;
  ASSERT_EQ(cu().mem_get_info(&free_bytes, &total), CUDA_SUCCESS);
  EXPECT_EQ(total, 512 * kMiB);
  EXPECT_EQ(free_bytes, 412 * kMiB);  // 100 MiB hidden

  // The third allocation fails, and so does every request above 256 MiB.
  CUdeviceptr blocks[3] = {};
  EXPECT_EQ(cu().mem_alloc(&blocks[0], kMiB), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_alloc(&blocks[1], kMiB), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_alloc(&blocks[2], kMiB), CUDA_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(cu().mem_alloc(&blocks[2], kMiB), CUDA_SUCCESS);
  CUdeviceptr large = 0;
  EXPECT_EQ(cu().mem_alloc(&large, 257 * kMiB), CUDA_ERROR_OUT_OF_MEMORY);
  for (const CUdeviceptr block : blocks)
    EXPECT_EQ(cu().mem_free(block), CUDA_SUCCESS);
}

TEST(Malformed, CudaInitFails) {
  EXPECT_EQ(cu().init(0), CUDA_ERROR_INVALID_VALUE);
}

}  // namespace
