// The driver functions the preload serves: exported (programs linked with -lcuda), returned by
// the preload's dlsym (programs that dlopen libcuda.so.1, CuPy), and by its cuGetProcAddress
// (the CUDA runtime, static or shared, and everything else that asks the driver for entry
// points, cuGetProcAddress itself included).

#include <cuda.h>
#include <dlfcn.h>

#include <cstring>

#include "gpumem/aligned.hpp"
#include "mr/stream_retirement.hpp"
#include "preload/context_tracking.hpp"
#include "preload/hooked_functions.hpp"
#include "preload/real_driver.hpp"
#include "preload/real_symbols.hpp"
#include "preload/shim.hpp"

#undef cuGetProcAddress

#define GPUMEM_PRELOAD_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" {
CUresult cuMemAllocAsync_ptsz(CUdeviceptr*, size_t, CUstream);
CUresult cuMemFreeAsync_ptsz(CUdeviceptr, CUstream);
CUresult cuGetProcAddress(const char*, void**, int, cuuint64_t);
CUresult cuStreamBeginCapture_v2_ptsz(CUstream, CUstreamCaptureMode);
CUresult cuStreamBeginCaptureToGraph_ptsz(
    CUstream, CUgraph, const CUgraphNode*, const CUgraphEdgeData*, size_t, CUstreamCaptureMode);
CUresult cuGetProcAddress_v2(const char*, void**, int, cuuint64_t, CUdriverProcAddressQueryResult*);
}

namespace {

using gpumem::preload::answer;
using gpumem::preload::request_kind;

const gpumem::driver::driver_entry_points& real_legacy() {
  return gpumem::preload::real_driver().legacy;
}
const gpumem::driver::driver_entry_points& real_per_thread() {
  return gpumem::preload::real_driver().per_thread;
}

/// Whether the shim may look at this call (not inside a pass-through, a driver found).
bool intercepting() {
  return !gpumem::preload::in_pass_through() && gpumem::preload::real_driver().loaded;
}

CUresult served_or(answer result, CUdeviceptr* out) {
  if (result.what == answer::outcome::served) {
    if (out != nullptr) *out = reinterpret_cast<CUdeviceptr>(result.pointer);
    return CUDA_SUCCESS;
  }
  return result.error;
}

CUresult alloc_async(CUdeviceptr* pointer, size_t bytes, CUstream stream, bool per_thread) {
  if (pointer != nullptr && intercepting()) {
    const answer result =
        gpumem::preload::allocate(bytes, request_kind::stream_ordered, stream, per_thread, true);
    if (result.what != answer::outcome::pass_through) return served_or(result, pointer);
  }
  gpumem::preload::pass_through_scope scope;
  const auto real = (per_thread ? real_per_thread() : real_legacy()).mem_alloc_async;
  return real != nullptr ? real(pointer, bytes, stream) : CUDA_ERROR_NOT_SUPPORTED;
}

CUresult free_async(CUdeviceptr pointer, CUstream stream, bool per_thread) {
  if (intercepting()) {
    const answer result = gpumem::preload::deallocate(
        reinterpret_cast<void*>(pointer), request_kind::stream_ordered, stream, per_thread);
    if (result.what != answer::outcome::pass_through) return served_or(result, nullptr);
  }
  gpumem::preload::pass_through_scope scope;
  const auto real = (per_thread ? real_per_thread() : real_legacy()).mem_free_async;
  return real != nullptr ? real(pointer, stream) : CUDA_ERROR_NOT_SUPPORTED;
}

/// The device of `context`; -1 when the driver does not say. Call in a pass-through scope.
CUdevice device_of_context(CUcontext context) {
  CUdevice device = -1;
  CUcontext popped = nullptr;
  if (real_legacy().ctx_push_current(context) == CUDA_SUCCESS) {
    if (real_legacy().ctx_get_device(&device) != CUDA_SUCCESS) device = -1;
    (void)real_legacy().ctx_pop_current(&popped);
  }
  return device;
}

/// The current device's access to `peer`'s memory was enabled (or disabled): the shim grants
/// (or revokes) it on the peer's expandable source.
void follow_peer_access(CUcontext peer, bool enabled) {
  if (!intercepting()) return;
  std::optional<int> accessor;
  CUdevice peer_device = -1;
  {
    gpumem::preload::pass_through_scope scope;
    // The shim's stacks serve primary contexts: a context the program made changes nothing
    // for them (and its disabling must not take access from the primary context).
    const auto current =
        gpumem::preload::context_tracking::current_device(gpumem::preload::real_driver());
    if (!current.primary) return;
    accessor = current.device;
    peer_device = device_of_context(peer);
  }
  if (!accessor || peer_device < 0) return;
  if (enabled) {
    gpumem::preload::peer_access_enabled(*accessor, peer_device);
  } else {
    gpumem::preload::peer_access_disabled(*accessor, peer_device);
  }
}

/// The device whose default or current memory pool `pool` is; nullopt for another pool.
std::optional<int> device_of_pool(CUmemoryPool pool) {
  const gpumem::driver::driver_entry_points& cu = real_legacy();
  int devices = 0;
  if (cu.device_get_count == nullptr || cu.device_get_count(&devices) != CUDA_SUCCESS)
    return std::nullopt;
  for (int device = 0; device < devices; ++device) {
    CUmemoryPool known = nullptr;
    if (cu.device_get_default_mem_pool != nullptr &&
        cu.device_get_default_mem_pool(&known, device) == CUDA_SUCCESS && known == pool)
      return device;
    if (cu.device_get_mem_pool != nullptr &&
        cu.device_get_mem_pool(&known, device) == CUDA_SUCCESS && known == pool)
      return device;
  }
  return std::nullopt;
}

}  // namespace

GPUMEM_PRELOAD_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* pointer, size_t bytes) {
  if (pointer != nullptr && intercepting()) {
    const answer result =
        gpumem::preload::allocate(bytes, request_kind::synchronous, nullptr, false, true);
    if (result.what != answer::outcome::pass_through) return served_or(result, pointer);
  }
  gpumem::preload::pass_through_scope scope;
  return real_legacy().mem_alloc(pointer, bytes);
}

GPUMEM_PRELOAD_EXPORT CUresult cuMemFree_v2(CUdeviceptr pointer) {
  if (intercepting()) {
    const answer result =
        gpumem::preload::deallocate(reinterpret_cast<void*>(pointer), request_kind::synchronous);
    if (result.what != answer::outcome::pass_through) return served_or(result, nullptr);
  }
  gpumem::preload::pass_through_scope scope;
  return real_legacy().mem_free(pointer);
}

GPUMEM_PRELOAD_EXPORT CUresult cuMemAllocManaged(CUdeviceptr* pointer,
                                                 size_t bytes,
                                                 unsigned int flags) {
  if (pointer != nullptr && flags == CU_MEM_ATTACH_GLOBAL && intercepting()) {
    const answer result =
        gpumem::preload::allocate(bytes, request_kind::managed, nullptr, false, true);
    if (result.what != answer::outcome::pass_through) return served_or(result, pointer);
  }
  gpumem::preload::pass_through_scope scope;
  return real_legacy().mem_alloc_managed(pointer, bytes, flags);
}

GPUMEM_PRELOAD_EXPORT CUresult cuMemAllocPitch_v2(
    CUdeviceptr* pointer, size_t* pitch, size_t width, size_t height, unsigned int element_size) {
  const bool valid = pointer != nullptr && pitch != nullptr && width != 0 && height != 0 &&
                     (element_size == 4 || element_size == 8 || element_size == 16);
  if (valid && intercepting()) {
    CUdevice device = 0;
    int alignment = 0;
    if (real_legacy().ctx_get_device(&device) == CUDA_SUCCESS &&
        real_legacy().device_get_attribute(
            &alignment, CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT, device) == CUDA_SUCCESS &&
        alignment > 0) {
      const size_t row = gpumem::align_up(width, static_cast<size_t>(alignment));
      const answer result =
          gpumem::preload::allocate(row * height, request_kind::synchronous, nullptr, false, true);
      if (result.what != answer::outcome::pass_through) {
        if (result.what == answer::outcome::served) *pitch = row;
        return served_or(result, pointer);
      }
    }
  }
  gpumem::preload::pass_through_scope scope;
  return real_legacy().mem_alloc_pitch(pointer, pitch, width, height, element_size);
}

GPUMEM_PRELOAD_EXPORT CUresult cuMemAllocAsync(CUdeviceptr* pointer,
                                               size_t bytes,
                                               CUstream stream) {
  return alloc_async(pointer, bytes, stream, false);
}
GPUMEM_PRELOAD_EXPORT CUresult cuMemAllocAsync_ptsz(CUdeviceptr* pointer,
                                                    size_t bytes,
                                                    CUstream stream) {
  return alloc_async(pointer, bytes, stream, true);
}
GPUMEM_PRELOAD_EXPORT CUresult cuMemFreeAsync(CUdeviceptr pointer, CUstream stream) {
  return free_async(pointer, stream, false);
}
GPUMEM_PRELOAD_EXPORT CUresult cuMemFreeAsync_ptsz(CUdeviceptr pointer, CUstream stream) {
  return free_async(pointer, stream, true);
}

GPUMEM_PRELOAD_EXPORT CUresult cuStreamDestroy_v2(CUstream stream) {
  gpumem::preload::stream_destroyed();
  // The stacks record their last event on the stream while it is still valid.
  if (!gpumem::preload::in_pass_through() && gpumem::preload::real_driver().loaded) {
    gpumem::preload::pass_through_scope scope;
    gpumem::mr::detail::stream_retirement::retire(stream);
  }
  gpumem::preload::pass_through_scope scope;
  return real_legacy().stream_destroy(stream);
}

namespace {

/// Begins a capture with `table`'s `member` (the driver's call), announced to the shim first.
template <auto member, typename... Arguments>
CUresult begin_capture(const gpumem::driver::driver_entry_points& table, Arguments... arguments) {
  const auto real = table.*member;
  if (real == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  gpumem::preload::capture_beginning();
  gpumem::preload::pass_through_scope scope;
  return real(arguments...);
}

using gpumem::driver::driver_entry_points;

}  // namespace

GPUMEM_PRELOAD_EXPORT CUresult cuStreamBeginCapture_v2(CUstream stream, CUstreamCaptureMode mode) {
  return begin_capture<&driver_entry_points::stream_begin_capture>(real_legacy(), stream, mode);
}

GPUMEM_PRELOAD_EXPORT CUresult cuStreamBeginCapture_v2_ptsz(CUstream stream,
                                                            CUstreamCaptureMode mode) {
  return begin_capture<&driver_entry_points::stream_begin_capture>(real_per_thread(), stream, mode);
}

GPUMEM_PRELOAD_EXPORT CUresult cuStreamBeginCaptureToGraph(CUstream stream,
                                                           CUgraph graph,
                                                           const CUgraphNode* dependencies,
                                                           const CUgraphEdgeData* edges,
                                                           size_t count,
                                                           CUstreamCaptureMode mode) {
  return begin_capture<&driver_entry_points::stream_begin_capture_to_graph>(
      real_legacy(), stream, graph, dependencies, edges, count, mode);
}

GPUMEM_PRELOAD_EXPORT CUresult cuStreamBeginCaptureToGraph_ptsz(CUstream stream,
                                                                CUgraph graph,
                                                                const CUgraphNode* dependencies,
                                                                const CUgraphEdgeData* edges,
                                                                size_t count,
                                                                CUstreamCaptureMode mode) {
  return begin_capture<&driver_entry_points::stream_begin_capture_to_graph>(
      real_per_thread(), stream, graph, dependencies, edges, count, mode);
}

GPUMEM_PRELOAD_EXPORT CUresult cuDevicePrimaryCtxReset_v2(CUdevice device) {
  // cudaDeviceReset comes here too (both runtimes reach the driver through cuGetProcAddress).
  if (!gpumem::preload::in_pass_through() && gpumem::preload::real_driver().loaded) {
    gpumem::preload::forget_device(device);
  }
  gpumem::preload::pass_through_scope scope;
  return real_legacy().primary_ctx_reset(device);
}

GPUMEM_PRELOAD_EXPORT CUresult cuIpcGetMemHandle(CUipcMemHandle* handle, CUdeviceptr pointer) {
  // A handle names a whole CUDA allocation: for a block of the shim's that is a slab shared
  // with other blocks, and the other process would map the slab, not the block.
  if (intercepting() && gpumem::preload::refuse_ipc_handle(reinterpret_cast<void*>(pointer))) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  gpumem::preload::pass_through_scope scope;
  const auto real = real_legacy().ipc_get_mem_handle;
  return real != nullptr ? real(handle, pointer) : CUDA_ERROR_NOT_SUPPORTED;
}

GPUMEM_PRELOAD_EXPORT CUresult cuCtxEnablePeerAccess(CUcontext peer, unsigned int flags) {
  const auto real = real_legacy().ctx_enable_peer_access;
  if (real == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  CUresult status = CUDA_SUCCESS;
  {
    gpumem::preload::pass_through_scope scope;
    status = real(peer, flags);
  }
  // Enabled now or before: memory the peer's expandable source maps needs a grant too.
  if (status == CUDA_SUCCESS || status == CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED)
    follow_peer_access(peer, true);
  return status;
}

GPUMEM_PRELOAD_EXPORT CUresult cuMemPoolSetAccess(CUmemoryPool pool,
                                                  const CUmemAccessDesc* map,
                                                  size_t count) {
  const auto real = real_legacy().mem_pool_set_access;
  if (real == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  CUresult status = CUDA_SUCCESS;
  {
    gpumem::preload::pass_through_scope scope;
    status = real(pool, map, count);
  }
  // A program that lets device X reach a device's pool (streamOrderedAllocationP2P does) expects
  // X to reach what cudaMallocAsync hands out there, which the shim's stack serves: the owner's
  // expandable source grants X too, as for peer access.
  if (status == CUDA_SUCCESS && intercepting() && map != nullptr) {
    std::optional<int> owner;
    {
      gpumem::preload::pass_through_scope scope;
      owner = device_of_pool(pool);
    }
    for (size_t i = 0; owner && i < count; ++i) {
      if (map[i].location.type != CU_MEM_LOCATION_TYPE_DEVICE || map[i].location.id == *owner)
        continue;
      if (map[i].flags == CU_MEM_ACCESS_FLAGS_PROT_NONE) {
        gpumem::preload::peer_access_disabled(
            map[i].location.id, *owner, gpumem::preload::peer_grant::memory_pool);
      } else {
        gpumem::preload::peer_access_enabled(
            map[i].location.id, *owner, gpumem::preload::peer_grant::memory_pool);
      }
    }
  }
  return status;
}

GPUMEM_PRELOAD_EXPORT CUresult cuCtxDisablePeerAccess(CUcontext peer) {
  const auto real = real_legacy().ctx_disable_peer_access;
  if (real == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  CUresult status = CUDA_SUCCESS;
  {
    gpumem::preload::pass_through_scope scope;
    status = real(peer);
  }
  // As cudaMalloc memory stops being reachable, so does the expandable source's.
  if (status == CUDA_SUCCESS) follow_peer_access(peer, false);
  return status;
}

GPUMEM_PRELOAD_EXPORT CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
  std::size_t free_now = 0;
  std::size_t total = 0;
  CUresult status = CUDA_SUCCESS;
  {
    gpumem::preload::pass_through_scope scope;
    status = real_legacy().mem_get_info(&free_now, &total);
  }
  if (status != CUDA_SUCCESS) return status;
  if (intercepting()) gpumem::preload::adjust_memory_info(&free_now, &total);
  if (free_bytes != nullptr) *free_bytes = free_now;
  if (total_bytes != nullptr) *total_bytes = total;
  return CUDA_SUCCESS;
}

namespace {

/// The preload's function for a real driver function it serves, or the real one itself.
void* wrapper_for(void* function) {
  const auto& real = gpumem::preload::real_driver();
  const auto is = [function](auto entry) {
    return entry != nullptr && function == reinterpret_cast<void*>(entry);
  };
#define GPUMEM_WRAPPER_FOR(name, table, member) \
  if (is(real.table.member)) return reinterpret_cast<void*>(&::name);
  GPUMEM_HOOKED_DRIVER_FUNCTIONS(GPUMEM_WRAPPER_FOR)
#undef GPUMEM_WRAPPER_FOR
  if (is(gpumem::preload::real_get_proc_address_v1()))
    return reinterpret_cast<void*>(&cuGetProcAddress);
  return function;
}

/// The names dlsym returns the preload's functions for.
bool served_name(const char* symbol) {
  static constexpr const char* kNames[] = {
#define GPUMEM_SERVED_NAME(name, table, member) #name,
      GPUMEM_HOOKED_DRIVER_FUNCTIONS(GPUMEM_SERVED_NAME)
#undef GPUMEM_SERVED_NAME
          "cuGetProcAddress",
  };
  if (symbol == nullptr || symbol[0] != 'c' || symbol[1] != 'u') return false;
  for (const char* name : kNames) {
    if (std::strcmp(name, symbol) == 0) return true;
  }
  return false;
}

}  // namespace

GPUMEM_PRELOAD_EXPORT CUresult cuGetProcAddress_v2(const char* symbol,
                                                   void** function,
                                                   int cuda_version,
                                                   cuuint64_t flags,
                                                   CUdriverProcAddressQueryResult* status) {
  if (!gpumem::preload::real_driver().loaded) return CUDA_ERROR_NOT_INITIALIZED;
  const CUresult result =
      real_legacy().get_proc_address(symbol, function, cuda_version, flags, status);
  if (result == CUDA_SUCCESS && function != nullptr && *function != nullptr)
    *function = wrapper_for(*function);
  return result;
}

GPUMEM_PRELOAD_EXPORT CUresult cuGetProcAddress(const char* symbol,
                                                void** function,
                                                int cuda_version,
                                                cuuint64_t flags) {
  const auto real = gpumem::preload::real_get_proc_address_v1();
  if (!gpumem::preload::real_driver().loaded || real == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  const CUresult result = real(symbol, function, cuda_version, flags);
  if (result == CUDA_SUCCESS && function != nullptr && *function != nullptr)
    *function = wrapper_for(*function);
  return result;
}

extern "C" void* gpumem_dlsym_override(void* handle, const char* symbol) {
  void* found = gpumem::preload::real_dlsym()(handle, symbol);
  if (found == nullptr || !served_name(symbol)) return found;
  // The lookup found a driver function the preload serves: hand out the preload's, which calls
  // the real one (looked up from libcuda.so.1 itself) when it passes a call through.
  if (!gpumem::preload::real_driver().loaded) return found;
  // (A lookup that finds the preload's own export, or another library's function, keeps it.)
  return wrapper_for(found);
}
