// A program that reaches the driver the way NVIDIA's static runtime and CuPy do:
// dlopen("libcuda.so.1"), dlsym(handle, "cuGetProcAddress_v2"), then cuGetProcAddress for
// everything (gpumem's driver_entry_points does exactly that). Run under libgpumem_preload.so,
// on the simulator and on the GPU.

#include <cuda.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cuda_platform.hpp"
#include "driver/driver_entry_points.hpp"
#include "preload/hooked_functions.hpp"

namespace {

namespace simulator = gpumem::test::simulator;

const gpumem::driver::driver_library& library() {
  static const auto loaded = gpumem::driver::load_driver_library();
  return loaded;
}
const gpumem::driver::driver_entry_points& cu() {
  return library().legacy;
}

std::string object_of(const void* function) {
  Dl_info info{};
  return dladdr(function, &info) != 0 && info.dli_fname != nullptr ? info.dli_fname : "";
}

class PreloadDriver : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(dlsym(RTLD_DEFAULT, "gpumem_preload_version"), nullptr)
        << "run with LD_PRELOAD=libgpumem_preload.so";
    ASSERT_TRUE(library().loaded);
    ASSERT_EQ(cu().init(0), CUDA_SUCCESS);
    CUcontext context = nullptr;
    ASSERT_EQ(cu().primary_ctx_retain(&context, 0), CUDA_SUCCESS);
    ASSERT_EQ(cu().ctx_set_current(context), CUDA_SUCCESS);
  }
};

TEST_F(PreloadDriver, DlsymAndGetProcAddressHandOutThePreloadsFunctions) {
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(driver, nullptr);
  EXPECT_NE(object_of(dlsym(driver, "cuGetProcAddress_v2")).find("libgpumem_preload"),
            std::string::npos);
  EXPECT_NE(object_of(reinterpret_cast<void*>(cu().mem_alloc)).find("libgpumem_preload"),
            std::string::npos);
  EXPECT_NE(object_of(reinterpret_cast<void*>(cu().mem_free)).find("libgpumem_preload"),
            std::string::npos);
  // Asked for itself, cuGetProcAddress answers with the preload's again.
  void* itself = nullptr;
  ASSERT_EQ(cu().get_proc_address("cuGetProcAddress", &itself, 13000, 0, nullptr), CUDA_SUCCESS);
  EXPECT_NE(object_of(itself).find("libgpumem_preload"), std::string::npos);
  // Everything else is the driver's own.
  EXPECT_EQ(object_of(reinterpret_cast<void*>(cu().stream_synchronize)).find("libgpumem_preload"),
            std::string::npos);
}

TEST_F(PreloadDriver, EveryHookedFunctionIsExportedAndHandedOut) {
  // One list (hooked_functions.hpp) makes the exports, dlsym's answers and cuGetProcAddress's.
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(driver, nullptr);
  const auto preloads = [](void* function) {
    return object_of(function).find("libgpumem_preload") != std::string::npos;
  };
#define GPUMEM_EXPECT_DRIVER_HOOK(name, table, member)                           \
  EXPECT_TRUE(preloads(dlsym(RTLD_DEFAULT, #name))) << #name " is not exported"; \
  if (void* found = dlsym(driver, #name); found != nullptr) {                    \
    EXPECT_TRUE(preloads(found)) << "dlsym hands out the driver's own " #name;   \
  }
  GPUMEM_HOOKED_DRIVER_FUNCTIONS(GPUMEM_EXPECT_DRIVER_HOOK)
#undef GPUMEM_EXPECT_DRIVER_HOOK
#define GPUMEM_EXPECT_RUNTIME_HOOK(name) \
  EXPECT_TRUE(preloads(dlsym(RTLD_DEFAULT, #name))) << #name " is not exported";
  GPUMEM_HOOKED_RUNTIME_FUNCTIONS(GPUMEM_EXPECT_RUNTIME_HOOK)
#undef GPUMEM_EXPECT_RUNTIME_HOOK
}

TEST_F(PreloadDriver, PerThreadStreamLookupsGetTheirOwnWrapper) {
  EXPECT_NE(reinterpret_cast<void*>(library().per_thread.mem_alloc_async),
            reinterpret_cast<void*>(cu().mem_alloc_async));
  EXPECT_NE(object_of(reinterpret_cast<void*>(library().per_thread.mem_alloc_async))
                .find("libgpumem_preload"),
            std::string::npos);
  CUdeviceptr block = 0;
  ASSERT_EQ(library().per_thread.mem_alloc_async(&block, 4096, nullptr), CUDA_SUCCESS);
  ASSERT_EQ(library().per_thread.mem_free_async(block, nullptr), CUDA_SUCCESS);
  ASSERT_EQ(library().per_thread.stream_synchronize(nullptr), CUDA_SUCCESS);
}

TEST_F(PreloadDriver, DriverAllocationsAreSubAllocated) {
  CUdeviceptr first = 0;
  CUdeviceptr second = 0;
  ASSERT_EQ(cu().mem_alloc(&first, 1000), CUDA_SUCCESS);
  ASSERT_EQ(cu().mem_alloc(&second, 1000), CUDA_SUCCESS);
  using range_function = CUresult (*)(CUdeviceptr*, size_t*, CUdeviceptr);
  void* function = nullptr;
  ASSERT_EQ(cu().get_proc_address("cuMemGetAddressRange", &function, 13000, 0, nullptr),
            CUDA_SUCCESS);
  CUdeviceptr base = 0;
  size_t size = 0;
  ASSERT_EQ(reinterpret_cast<range_function>(function)(&base, &size, second), CUDA_SUCCESS);
  EXPECT_NE(base, second);
  EXPECT_EQ(cu().mem_free(first), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(second), CUDA_SUCCESS);
}

TEST_F(PreloadDriver, UnknownAndNullFreesGoToTheDriver) {
  std::vector<char> host(256);
  EXPECT_EQ(cu().mem_free(reinterpret_cast<CUdeviceptr>(host.data())), CUDA_ERROR_INVALID_VALUE);
}

TEST_F(PreloadDriver, SimulatorCountsOneRealAllocationForMany) {
  GPUMEM_REQUIRE_SIMULATOR();
  CUdeviceptr warm = 0;
  ASSERT_EQ(cu().mem_alloc(&warm, 256), CUDA_SUCCESS);
  simulator::reset_call_counts();
  for (int i = 0; i < 50; ++i) {
    CUdeviceptr block = 0;
    ASSERT_EQ(cu().mem_alloc_async(&block, 8192, nullptr), CUDA_SUCCESS);
    ASSERT_EQ(cu().mem_free_async(block, nullptr), CUDA_SUCCESS);
  }
  EXPECT_EQ(simulator::call_count("cuMemAllocAsync") + simulator::call_count("cuMemAlloc_v2"), 0U);
  EXPECT_EQ(simulator::call_count("cuMemFreeAsync"), 0U);
  EXPECT_EQ(cu().mem_free(warm), CUDA_SUCCESS);
}

TEST_F(PreloadDriver, RtldNextFromTheProgramStillFindsTheNextDefinition) {
  // The next dlsym after this program is the preload's: the lookup kept the caller's identity.
  void* next = dlsym(RTLD_NEXT, "dlsym");
  EXPECT_NE(object_of(next).find("libgpumem_preload"), std::string::npos) << object_of(next);
  void* next_malloc = dlsym(RTLD_NEXT, "malloc");
  EXPECT_NE(next_malloc, nullptr);
}

// Last of the driver tests: the device starts over. A statically linked runtime's
// cudaDeviceReset calls no entry point the preload sees; the shim finds out from the context's
// new id at the next allocation and builds a new stack instead of handing out freed slabs.
TEST_F(PreloadDriver, AResetTheShimDidNotSeeIsFoundAtTheNextAllocation) {
  GPUMEM_REQUIRE_SIMULATOR();  // the internal reset is the simulator's
  CUdeviceptr before = 0;
  ASSERT_EQ(cu().mem_alloc(&before, 4096), CUDA_SUCCESS);
  gpumem::test::simulator::reset_device_internally(0);
  for (int round = 0; round < 3; ++round) {
    CUdeviceptr block = 0;
    ASSERT_EQ(cu().mem_alloc(&block, 4096), CUDA_SUCCESS);
    std::vector<int> data(1024, round + 1);
    std::vector<int> back(1024);
    ASSERT_EQ(cu().memcpy_htod(block, data.data(), 4096), CUDA_SUCCESS)
        << "a block in a slab the reset freed";
    ASSERT_EQ(cu().memcpy_dtoh(back.data(), block, 4096), CUDA_SUCCESS);
    EXPECT_EQ(back, data);
    EXPECT_EQ(cu().mem_free(block), CUDA_SUCCESS);
  }
}

TEST_F(PreloadDriver, AChildAfterForkStartsAFreshShim) {
  GPUMEM_REQUIRE_SIMULATOR();  // a real driver does not survive fork
  CUdeviceptr parent_block = 0;
  ASSERT_EQ(cu().mem_alloc(&parent_block, 4096), CUDA_SUCCESS);
  const pid_t child = fork();
  if (child == 0) {
    CUdeviceptr block = 0;
    const bool served =
        cu().mem_alloc(&block, 4096) == CUDA_SUCCESS && cu().mem_free(block) == CUDA_SUCCESS;
    _exit(served ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(cu().mem_free(parent_block), CUDA_SUCCESS);
}

}  // namespace
