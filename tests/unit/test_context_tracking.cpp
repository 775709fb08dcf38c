// The shim's context tracking on a driver of the test's own: which context the calling thread
// runs in, whether it is a device's recorded primary context (cached per thread, and the cache
// not trusted once the primary handle changes), whether a primary context exists, and
// device_scope making a device's primary context current only when another one is.

#include <gtest/gtest.h>

#include <vector>

#include "preload/context_tracking.hpp"

namespace {

namespace tracking = gpumem::preload::context_tracking;

/// A driver whose current context and devices the test sets; it counts the calls that cost.
struct fake_driver_state {
  CUcontext current = nullptr;
  std::vector<CUcontext> pushed;  ///< the context stack under `current`
  int device_of_current = 0;
  int device_lookups = 0;
  int retains = 0;
  bool primary_active = true;
};
fake_driver_state fake;

// Stand-ins for real contexts: only their addresses matter.
int context_a_storage, context_b_storage, user_context_storage;
const CUcontext primary_0 = reinterpret_cast<CUcontext>(&context_a_storage);
const CUcontext primary_1 = reinterpret_cast<CUcontext>(&context_b_storage);
const CUcontext user_context_on_0 = reinterpret_cast<CUcontext>(&user_context_storage);

CUresult fake_get_current(CUcontext* context) {
  *context = fake.current;
  return CUDA_SUCCESS;
}
CUresult fake_get_device(CUdevice* device) {
  ++fake.device_lookups;
  *device = fake.device_of_current;
  return fake.current != nullptr ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}
CUresult fake_push(CUcontext context) {
  fake.pushed.push_back(fake.current);
  fake.current = context;
  fake.device_of_current = context == primary_1 ? 1 : 0;
  return CUDA_SUCCESS;
}
CUresult fake_pop(CUcontext* popped) {
  *popped = fake.current;
  fake.current = fake.pushed.back();
  fake.pushed.pop_back();
  fake.device_of_current = fake.current == primary_1 ? 1 : 0;
  return CUDA_SUCCESS;
}
CUresult fake_retain(CUcontext* context, CUdevice device) {
  ++fake.retains;
  *context = device == 1 ? primary_1 : primary_0;
  return CUDA_SUCCESS;
}
CUresult fake_get_state(CUdevice, unsigned int* flags, int* active) {
  *flags = 0;
  *active = fake.primary_active ? 1 : 0;
  return CUDA_SUCCESS;
}

gpumem::driver::driver_library fake_driver() {
  gpumem::driver::driver_library driver;
  driver.loaded = true;
  driver.legacy.ctx_get_current = fake_get_current;
  driver.legacy.ctx_get_device = fake_get_device;
  driver.legacy.ctx_push_current = fake_push;
  driver.legacy.ctx_pop_current = fake_pop;
  driver.legacy.primary_ctx_retain = fake_retain;
  driver.legacy.primary_ctx_get_state = fake_get_state;
  return driver;
}

class ContextTracking : public testing::Test {
 protected:
  void SetUp() override {
    fake = {};
    tracking::forget_all_primary_contexts();
    tracking::last_context = {};
  }
  gpumem::driver::driver_library driver = fake_driver();
};

TEST_F(ContextTracking, NoDriverOrNoContextMeansNoCurrentContext) {
  gpumem::driver::driver_library absent;
  EXPECT_FALSE(tracking::current_device(absent).exists);
  EXPECT_FALSE(tracking::current_device(driver).exists);
}

TEST_F(ContextTracking, ARecordedPrimaryContextIsFoundAndCachedPerThread) {
  tracking::primary_contexts[0].store(primary_0);
  fake.current = primary_0;
  const tracking::current_context first = tracking::current_device(driver);
  EXPECT_TRUE(first.exists);
  EXPECT_TRUE(first.primary);
  EXPECT_EQ(first.device, 0);
  const int lookups = fake.device_lookups;
  const tracking::current_context second = tracking::current_device(driver);
  EXPECT_TRUE(second.primary);
  EXPECT_EQ(fake.device_lookups, lookups) << "the second call must use the thread's cache";
}

TEST_F(ContextTracking, AContextTheProgramCreatedIsNotPrimary) {
  tracking::primary_contexts[0].store(primary_0);
  fake.current = user_context_on_0;
  const tracking::current_context current = tracking::current_device(driver);
  EXPECT_TRUE(current.exists);
  EXPECT_FALSE(current.primary);
  EXPECT_EQ(current.device, 0);
}

TEST_F(ContextTracking, TheCacheIsNotTrustedOnceThePrimaryHandleChanges) {
  tracking::primary_contexts[0].store(primary_0);
  fake.current = primary_0;
  ASSERT_TRUE(tracking::current_device(driver).primary);
  // A reset the shim recorded: device 0's primary context is another handle now; the thread's
  // cached context is no longer the device's primary one.
  tracking::primary_contexts[0].store(primary_1);
  const int lookups = fake.device_lookups;
  EXPECT_FALSE(tracking::current_device(driver).primary);
  EXPECT_GT(fake.device_lookups, lookups);
}

TEST_F(ContextTracking, PrimaryContextActiveAsksWithoutCreating) {
  fake.primary_active = false;
  EXPECT_FALSE(tracking::primary_context_active(driver, 0));
  fake.primary_active = true;
  EXPECT_TRUE(tracking::primary_context_active(driver, 0));
  EXPECT_EQ(fake.retains, 0);
  // An older driver without cuDevicePrimaryCtxGetState: not known to be active.
  driver.legacy.primary_ctx_get_state = nullptr;
  EXPECT_FALSE(tracking::primary_context_active(driver, 0));
}

TEST_F(ContextTracking, DeviceScopePushesThePrimaryContextOnlyWhenAnotherIsCurrent) {
  tracking::primary_contexts[0].store(primary_0);
  tracking::primary_contexts[1].store(primary_1);
  fake.current = primary_0;
  {
    tracking::device_scope same{driver, 0};
    EXPECT_EQ(fake.current, primary_0);
    EXPECT_TRUE(fake.pushed.empty()) << "the device's primary context is current already";
  }
  {
    tracking::device_scope other{driver, 1};
    EXPECT_EQ(fake.current, primary_1);
  }
  EXPECT_EQ(fake.current, primary_0) << "the scope pops what it pushed";
  fake.current = user_context_on_0;
  {
    tracking::device_scope same_device_other_context{driver, 0};
    EXPECT_EQ(fake.current, primary_0) << "a barrier in the program's context orders nothing";
  }
  EXPECT_EQ(fake.current, user_context_on_0);
  EXPECT_EQ(fake.retains, 0) << "recorded primary contexts are not retained again";
}

TEST_F(ContextTracking, DeviceScopeRetainsAPrimaryContextNotYetRecorded) {
  fake.current = primary_0;
  {
    tracking::device_scope other{driver, 1};
    EXPECT_EQ(fake.current, primary_1);
  }
  EXPECT_EQ(fake.retains, 1);
  EXPECT_EQ(fake.current, primary_0);
}

}  // namespace
