// The CUDA runtime functions the preload exports (programs linked with -cudart=shared, and
// PyTorch): each asks the shim, and passes the call to the real runtime when the shim says so.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "mr/stream_retirement.hpp"
#include "preload/real_driver.hpp"
#include "preload/real_symbols.hpp"
#include "preload/shim.hpp"

#define GPUMEM_PRELOAD_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" {
cudaError_t cudaMallocAsync_ptsz(void**, size_t, cudaStream_t);
cudaError_t cudaFreeAsync_ptsz(void*, cudaStream_t);
}

namespace {

using gpumem::preload::answer;
using gpumem::preload::request_kind;

/// The real runtime's `Function`, found once after the preload.
template <typename Function>
Function real(const char* name) {
  return reinterpret_cast<Function>(gpumem::preload::next_symbol(name));
}

/// The runtime creates its context lazily, at its first call that needs one; an allocation
/// the shim serves is such a call. cudaFree(nullptr) is CUDA's own idiom for it. True when a
/// context is current now.
bool make_runtime_context() {
  static auto* real_free = real<decltype(&cudaFree)>("cudaFree");
  if (real_free == nullptr) return false;
  gpumem::preload::pass_through_scope scope;
  return real_free(nullptr) == cudaSuccess;
}

/// The shim's answer to an allocation, after making the runtime's context where none is current.
answer allocate_with_context(std::size_t bytes,
                             request_kind kind,
                             cudaStream_t stream = nullptr,
                             bool per_thread = false) {
  answer result = gpumem::preload::allocate(bytes, kind, stream, per_thread);
  if (result.no_context && make_runtime_context())
    result = gpumem::preload::allocate(bytes, kind, stream, per_thread);
  return result;
}

/// Makes the real runtime remember `error` as its last error (cudaGetLastError,
/// cudaPeekAtLastError), as it does when its own allocation or free fails: the runtime has no
/// call to set it, so a call that fails the same way, and does nothing else, sets it.
void remember_as_last_error(cudaError_t error) {
  static auto* real_malloc = real<decltype(&cudaMalloc)>("cudaMalloc");
  static auto* real_free = real<decltype(&cudaFree)>("cudaFree");
  gpumem::preload::pass_through_scope scope;
  if (error == cudaErrorMemoryAllocation && real_malloc != nullptr) {
    void* never = nullptr;
    (void)real_malloc(&never, ~std::size_t{0} >> 1);  // more than any device has
  } else if (error == cudaErrorInvalidValue && real_free != nullptr) {
    (void)real_free(reinterpret_cast<void*>(std::uintptr_t{1}));  // never an allocation
  }
}

cudaError_t served_or(answer result, void** out) {
  if (result.what == answer::outcome::served) {
    if (out != nullptr) *out = result.pointer;
    return cudaSuccess;
  }
  const cudaError_t error = gpumem::preload::to_runtime_error(result.error);
  remember_as_last_error(error);
  return error;
}

}  // namespace

GPUMEM_PRELOAD_EXPORT cudaError_t cudaMalloc(void** pointer, size_t bytes) {
  static auto* next = real<decltype(&cudaMalloc)>("cudaMalloc");
  if (pointer != nullptr && !gpumem::preload::in_pass_through()) {
    const answer result = allocate_with_context(bytes, request_kind::synchronous);
    if (result.what != answer::outcome::pass_through) return served_or(result, pointer);
  }
  gpumem::preload::pass_through_scope scope;
  return next(pointer, bytes);
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaFree(void* pointer) {
  static auto* next = real<decltype(&cudaFree)>("cudaFree");
  if (!gpumem::preload::in_pass_through()) {
    const answer result = gpumem::preload::deallocate(pointer, request_kind::synchronous);
    if (result.what != answer::outcome::pass_through) return served_or(result, nullptr);
  }
  gpumem::preload::pass_through_scope scope;
  return next(pointer);
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaMallocManaged(void** pointer,
                                                    size_t bytes,
                                                    unsigned int flags) {
  static auto* next = real<decltype(&cudaMallocManaged)>("cudaMallocManaged");
  // Host-attached managed memory keeps CUDA's own semantics: it is not pooled.
  if (pointer != nullptr && flags == cudaMemAttachGlobal && !gpumem::preload::in_pass_through()) {
    const answer result = allocate_with_context(bytes, request_kind::managed);
    if (result.what != answer::outcome::pass_through) return served_or(result, pointer);
  }
  gpumem::preload::pass_through_scope scope;
  return next(pointer, bytes, flags);
}

namespace {

template <typename Next>
cudaError_t malloc_async(
    Next next, void** pointer, size_t bytes, cudaStream_t stream, bool per_thread) {
  if (pointer != nullptr && !gpumem::preload::in_pass_through()) {
    const answer result =
        allocate_with_context(bytes, request_kind::stream_ordered, stream, per_thread);
    if (result.what != answer::outcome::pass_through) return served_or(result, pointer);
  }
  gpumem::preload::pass_through_scope scope;
  return next(pointer, bytes, stream);
}

template <typename Next>
cudaError_t free_async(Next next, void* pointer, cudaStream_t stream, bool per_thread) {
  if (!gpumem::preload::in_pass_through()) {
    const answer result =
        gpumem::preload::deallocate(pointer, request_kind::stream_ordered, stream, per_thread);
    if (result.what != answer::outcome::pass_through) return served_or(result, nullptr);
  }
  gpumem::preload::pass_through_scope scope;
  return next(pointer, stream);
}

}  // namespace

GPUMEM_PRELOAD_EXPORT cudaError_t cudaMallocAsync(void** pointer,
                                                  size_t bytes,
                                                  cudaStream_t stream) {
  static auto* next = real<decltype(&cudaMallocAsync)>("cudaMallocAsync");
  return malloc_async(next, pointer, bytes, stream, false);
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaMallocAsync_ptsz(void** pointer,
                                                       size_t bytes,
                                                       cudaStream_t stream) {
  static auto* next = real<decltype(&cudaMallocAsync_ptsz)>("cudaMallocAsync_ptsz");
  return malloc_async(next, pointer, bytes, stream, true);
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaFreeAsync(void* pointer, cudaStream_t stream) {
  static auto* next = real<decltype(&cudaFreeAsync)>("cudaFreeAsync");
  return free_async(next, pointer, stream, false);
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaFreeAsync_ptsz(void* pointer, cudaStream_t stream) {
  static auto* next = real<decltype(&cudaFreeAsync_ptsz)>("cudaFreeAsync_ptsz");
  return free_async(next, pointer, stream, true);
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  static auto* next = real<decltype(&cudaMemGetInfo)>("cudaMemGetInfo");
  std::size_t free_now = 0;
  std::size_t total = 0;
  cudaError_t status = cudaSuccess;
  {
    gpumem::preload::pass_through_scope scope;
    status = next(&free_now, &total);
  }
  if (status != cudaSuccess) return status;
  if (!gpumem::preload::in_pass_through()) gpumem::preload::adjust_memory_info(&free_now, &total);
  if (free_bytes != nullptr) *free_bytes = free_now;
  if (total_bytes != nullptr) *total_bytes = total;
  return cudaSuccess;
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaDeviceReset() {
  static auto* next = real<decltype(&cudaDeviceReset)>("cudaDeviceReset");
  // NVIDIA's runtime resets the primary context without the driver entry point the preload
  // wraps, so the shim hears of it here: the current device's stack goes with its context.
  if (!gpumem::preload::in_pass_through()) {
    if (const std::optional<int> device = gpumem::preload::current_device_id())
      gpumem::preload::forget_device(*device);
  }
  gpumem::preload::pass_through_scope scope;
  return next();
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  static auto* next = real<decltype(&cudaStreamDestroy)>("cudaStreamDestroy");
  gpumem::preload::stream_destroyed();
  gpumem::preload::pass_through_scope scope;
  // The stacks record their last event on the stream while it is still valid.
  if (gpumem::preload::real_driver().loaded) gpumem::mr::detail::stream_retirement::retire(stream);
  return next(stream);
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaDeviceDisablePeerAccess(int peer) {
  static auto* next = real<decltype(&cudaDeviceDisablePeerAccess)>("cudaDeviceDisablePeerAccess");
  if (next == nullptr) return cudaErrorNotSupported;
  cudaError_t status = cudaSuccess;
  {
    gpumem::preload::pass_through_scope scope;
    status = next(peer);
  }
  // See cuCtxDisablePeerAccess (driver_hooks.cpp).
  if (status == cudaSuccess && !gpumem::preload::in_pass_through()) {
    if (const std::optional<int> accessor = gpumem::preload::current_device_id())
      gpumem::preload::peer_access_disabled(*accessor, peer);
  }
  return status;
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaDeviceEnablePeerAccess(int peer, unsigned int flags) {
  static auto* next = real<decltype(&cudaDeviceEnablePeerAccess)>("cudaDeviceEnablePeerAccess");
  if (next == nullptr) return cudaErrorNotSupported;
  cudaError_t status = cudaSuccess;
  {
    gpumem::preload::pass_through_scope scope;
    status = next(peer, flags);
  }
  // See cuCtxEnablePeerAccess (driver_hooks.cpp).
  if ((status == cudaSuccess || status == cudaErrorPeerAccessAlreadyEnabled) &&
      !gpumem::preload::in_pass_through()) {
    if (const std::optional<int> accessor = gpumem::preload::current_device_id())
      gpumem::preload::peer_access_enabled(*accessor, peer);
  }
  return status;
}

GPUMEM_PRELOAD_EXPORT cudaError_t cudaIpcGetMemHandle(cudaIpcMemHandle_t* handle, void* pointer) {
  static auto* next = real<decltype(&cudaIpcGetMemHandle)>("cudaIpcGetMemHandle");
  // See cuIpcGetMemHandle (driver_hooks.cpp): never a handle to a slab for one of its blocks.
  if (!gpumem::preload::in_pass_through() && gpumem::preload::refuse_ipc_handle(pointer)) {
    remember_as_last_error(cudaErrorInvalidValue);
    return cudaErrorInvalidValue;
  }
  gpumem::preload::pass_through_scope scope;
  return next != nullptr ? next(handle, pointer) : cudaErrorNotSupported;
}
