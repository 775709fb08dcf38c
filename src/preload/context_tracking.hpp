#pragma once
// Which context the calling thread runs in, and whether it is a device's primary context (the
// one the shim's stacks serve): read on every interposed call, so the device of the thread's
// last primary context is cached per thread. device_scope makes a device's primary context
// current for a scope (a barrier or an event in another context orders nothing the stack
// needs). Each takes the driver's entry points from its caller (the shim passes
// real_driver()), so tests run them on a driver of their own.

#include <cuda.h>

#include <array>
#include <atomic>
#include <optional>

#include "driver/driver_entry_points.hpp"

namespace gpumem::preload {

/// The most devices the shim serves.
inline constexpr int kMaxDevices = 64;

namespace context_tracking {

/// The primary context of each device whose stack is built (retained, so the handle stays).
extern std::array<std::atomic<CUcontext>, kMaxDevices> primary_contexts;

/// The calling thread's last current context and its device: asking the driver for the device
/// on every call costs more than the rest of a pooled allocation. Trusted only for a primary
/// context the shim recorded, whose handle is never reused for another device.
struct context_device {
  CUcontext context = nullptr;
  int device = -1;
};
extern constinit
    __attribute__((tls_model("initial-exec"))) thread_local context_device last_context;

/// Whether there is a current context, which, and its device.
struct current_context {
  bool exists = false;
  std::optional<int> device;
  CUcontext context = nullptr;
  bool primary = false;  ///< the device's primary context, as the shim recorded it
};

inline current_context current_device(const driver::driver_library& driver) {
  CUcontext context = nullptr;
  if (!driver.loaded || driver.legacy.ctx_get_current(&context) != CUDA_SUCCESS ||
      context == nullptr)
    return {};
  const context_device cached = last_context;
  if (cached.context == context && cached.device >= 0 &&
      primary_contexts[cached.device].load(std::memory_order_relaxed) == context) {
    return {true, cached.device, context, true};
  }
  CUdevice device = 0;
  if (driver.legacy.ctx_get_device(&device) != CUDA_SUCCESS)
    return {true, std::nullopt, context, false};
  const bool primary = device >= 0 && device < kMaxDevices &&
                       primary_contexts[device].load(std::memory_order_relaxed) == context;
  if (primary) last_context = {context, device};
  return {true, device, context, primary};
}

/// Whether `device`'s primary context exists (without creating it, as retaining would).
inline bool primary_context_active(const driver::driver_library& driver, int device) {
  unsigned int flags = 0;
  int active = 0;
  return driver.loaded && driver.legacy.primary_ctx_get_state != nullptr &&
         driver.legacy.primary_ctx_get_state(device, &flags, &active) == CUDA_SUCCESS &&
         active != 0;
}

/// Makes `device`'s primary context current for a scope when another context is (another
/// device's, or a context the program created on the same device: a barrier or an event in
/// the wrong context would order nothing the stack needs).
class device_scope {
 public:
  device_scope(const driver::driver_library& driver, int device) : driver_(driver) {
    // The primary context the device's stack recorded (and retained once); retaining it again
    // for every scope would only raise its reference count.
    CUcontext context = device >= 0 && device < kMaxDevices
                            ? primary_contexts[device].load(std::memory_order_relaxed)
                            : nullptr;
    if (!driver.loaded) return;
    const current_context current = current_device(driver);
    if (current.device == device && (context == nullptr || current.context == context)) return;
    if (context == nullptr && driver.legacy.primary_ctx_retain(&context, device) != CUDA_SUCCESS)
      return;
    pushed_ = driver.legacy.ctx_push_current(context) == CUDA_SUCCESS;
  }
  ~device_scope() {
    if (pushed_) {
      CUcontext popped = nullptr;
      (void)driver_.legacy.ctx_pop_current(&popped);
    }
  }
  device_scope(const device_scope&) = delete;
  device_scope& operator=(const device_scope&) = delete;
  device_scope(device_scope&&) = delete;
  device_scope& operator=(device_scope&&) = delete;

 private:
  const driver::driver_library& driver_;
  bool pushed_ = false;
};

/// Forgets every recorded primary context (a child after fork starts without stacks).
void forget_all_primary_contexts() noexcept;

}  // namespace context_tracking
}  // namespace gpumem::preload
