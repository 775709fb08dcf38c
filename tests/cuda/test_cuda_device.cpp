// Device queries, errors and check macros of the library, on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "gpumem/aligned.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "gpumem/error.hpp"

namespace {

TEST(CudaDevice, CurrentDeviceAndCount) {
  EXPECT_EQ(gpumem::get_current_cuda_device(), gpumem::cuda_device_id{0});
  EXPECT_GE(gpumem::get_num_cuda_devices(), 1);
}

TEST(CudaDevice, AvailableMemory) {
  const auto [free_bytes, total_bytes] = gpumem::available_device_memory();
  EXPECT_GT(free_bytes, 0U);
  EXPECT_LE(free_bytes, total_bytes);
  const std::size_t half = gpumem::percent_of_free_device_memory(50);
  EXPECT_TRUE(gpumem::is_aligned(half, gpumem::CUDA_ALLOCATION_ALIGNMENT));
  EXPECT_LE(half, free_bytes / 2);
  EXPECT_GT(half,
            free_bytes / 2 - (std::size_t{64} << 20));  // another process may allocate meanwhile
  EXPECT_THROW((void)gpumem::percent_of_free_device_memory(0), gpumem::logic_error);
  EXPECT_THROW((void)gpumem::percent_of_free_device_memory(101), gpumem::logic_error);
}

TEST(CudaDevice, SetDeviceForAScope) {
  if (gpumem::get_num_cuda_devices() < 2) GTEST_SKIP() << "needs two devices";
  {
    gpumem::cuda_set_device_raii on_one{gpumem::cuda_device_id{1}};
    EXPECT_EQ(gpumem::get_current_cuda_device(), gpumem::cuda_device_id{1});
  }
  EXPECT_EQ(gpumem::get_current_cuda_device(), gpumem::cuda_device_id{0});
}

TEST(CudaDevice, InvalidDeviceThrowsCudaError) {
  EXPECT_THROW(gpumem::cuda_set_device_raii(gpumem::cuda_device_id{gpumem::get_num_cuda_devices()}),
               gpumem::cuda_error);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // the failure does not linger as the last error
}

TEST(ErrorMacros, CudaTryNamesTheError) {
  try {
    GPUMEM_CUDA_TRY(cudaSetDevice(-1));
    FAIL() << "no exception";
  } catch (const gpumem::cuda_error& error) {
    EXPECT_NE(std::string{error.what()}.find("cudaErrorInvalidDevice"), std::string::npos)
        << error.what();
    EXPECT_NE(std::string{error.what()}.find("test_cuda_device.cpp"), std::string::npos)
        << error.what();
  }
}

TEST(ErrorMacros, CudaTryAllocTellsOutOfMemory) {
  const auto total = gpumem::available_device_memory().second;
  void* pointer = nullptr;
  try {
    GPUMEM_CUDA_TRY_ALLOC(cudaMalloc(&pointer, total * 2), total * 2);
    FAIL() << "no exception";
  } catch (const gpumem::out_of_memory& error) {
    EXPECT_NE(std::string{error.what()}.find("failed to allocate " + std::to_string(total * 2) +
                                             " bytes"),
              std::string::npos)
        << error.what();
    EXPECT_EQ(std::string{error.what()}.rfind("std::bad_alloc: ", 0), 0U) << error.what();
  }
}

TEST(ErrorMacros, ExpectsAndFail) {
  EXPECT_NO_THROW(GPUMEM_EXPECTS(1 + 1 == 2, "arithmetic"));
  EXPECT_THROW(GPUMEM_EXPECTS(1 + 1 == 3, "arithmetic"), gpumem::logic_error);
  EXPECT_THROW(GPUMEM_EXPECTS(false, "range", gpumem::out_of_range), gpumem::out_of_range);
  EXPECT_THROW(GPUMEM_FAIL("always"), gpumem::logic_error);
  EXPECT_THROW(GPUMEM_FAIL("always", gpumem::cuda_error), gpumem::cuda_error);
}

}  // namespace
