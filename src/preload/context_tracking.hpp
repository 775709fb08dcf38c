#pragma once
// Which context the calling thread runs in, and whether it is a device's primary context (the
// one the shim's stacks serve): read on every interposed call, so the device of the thread's
// last primary context is cached per thread. device_scope makes a device's primary context
// current for a scope (a barrier or an event in another context orders nothing the stack
// needs).

#include <cuda.h>

#include <array>
#include <atomic>
#include <optional>

#include "preload/real_driver.hpp"

namespace gpumem::preload {

/// The most devices the shim serves.
inline constexpr int kMaxDevices = 64;

namespace context_tracking {

inline const driver::driver_entry_points& driver() {
  return real_driver().legacy;
}

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

inline current_context current_device() {
  CUcontext context = nullptr;
  if (!real_driver().loaded || driver().ctx_get_current(&context) != CUDA_SUCCESS ||
      context == nullptr)
    return {};
  const context_device cached = last_context;
  if (cached.context == context && cached.device >= 0 &&
      primary_contexts[cached.device].load(std::memory_order_relaxed) == context) {
    return {true, cached.device, context, true};
  }
  CUdevice device = 0;
  if (driver().ctx_get_device(&device) != CUDA_SUCCESS) return {true, std::nullopt, context, false};
  const bool primary = device >= 0 && device < kMaxDevices &&
                       primary_contexts[device].load(std::memory_order_relaxed) == context;
  if (primary) last_context = {context, device};
  return {true, device, context, primary};
}

/// Whether `device`'s primary context exists (without creating it, as retaining would).
inline bool primary_context_active(int device) {
  unsigned int flags = 0;
  int active = 0;
  return driver().primary_ctx_get_state != nullptr &&
         driver().primary_ctx_get_state(device, &flags, &active) == CUDA_SUCCESS && active != 0;
}

/// Makes `device`'s primary context current for a scope when another context is (another
/// device's, or a context the program created on the same device: a barrier or an event in
/// the wrong context would order nothing the stack needs).
class device_scope {
 public:
  explicit device_scope(int device) {
    // The primary context the device's stack recorded (and retained once); retaining it again
    // for every scope would only raise its reference count.
    CUcontext context = device >= 0 && device < kMaxDevices
                            ? primary_contexts[device].load(std::memory_order_relaxed)
                            : nullptr;
    const current_context current = current_device();
    if (current.device == device && (context == nullptr || current.context == context)) return;
    if (context == nullptr && driver().primary_ctx_retain(&context, device) != CUDA_SUCCESS) return;
    pushed_ = driver().ctx_push_current(context) == CUDA_SUCCESS;
  }
  ~device_scope() {
    if (pushed_) {
      CUcontext popped = nullptr;
      (void)driver().ctx_pop_current(&popped);
    }
  }
  device_scope(const device_scope&) = delete;
  device_scope& operator=(const device_scope&) = delete;
  device_scope(device_scope&&) = delete;
  device_scope& operator=(device_scope&&) = delete;

 private:
  bool pushed_ = false;
};

/// Forgets every recorded primary context (a child after fork starts without stacks).
void forget_all_primary_contexts() noexcept;

}  // namespace context_tracking
}  // namespace gpumem::preload
