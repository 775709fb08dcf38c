// The driver API of gpumem's CUDA simulator: the exported cu* functions of its libcuda.so.1.
// Each function checks its arguments the way the real driver does (uninitialized driver, no
// current context, unknown handles and pointers, stream capture rules) and returns the
// CUresult CUDA documents; the work itself runs at once on host memory.

#include <cuda.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "driver_errors.hpp"
#include "gpumem_sim.h"
#include "simulated_machine.hpp"

#undef cuGetProcAddress  // this file defines both cuGetProcAddress (v1) and cuGetProcAddress_v2

#define GPUMEM_SIM_EXPORT extern "C" __attribute__((visibility("default")))

using gpumem::sim::kVirtualMemoryGranularity;
using gpumem::sim::memory_kind;
using gpumem::sim::range_use;
using gpumem::sim::simulated_machine;

namespace {

constexpr int kDriverVersion = 13000;
constexpr std::size_t kPitchAlignment = 512;

simulated_machine& machine() {
  return simulated_machine::instance();
}

/// Counts a call by its exported name, so tests can see which entry points were used.
void enter(const char* name) {
  machine().count_call(name);
}

thread_local CUcontext current_context = nullptr;
thread_local std::vector<CUcontext> context_stack;

CUresult require_initialized() {
  return machine().initialized() ? CUDA_SUCCESS : CUDA_ERROR_NOT_INITIALIZED;
}

/// The device of the calling thread's current context.
CUresult current_device(int* device) {
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (current_context == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *device = current_context->device;
  return CUDA_SUCCESS;
}

/// The device a stream belongs to: a created stream's own, the current context's for the
/// special handles (0, CU_STREAM_LEGACY, CU_STREAM_PER_THREAD).
CUresult stream_device(CUstream stream, int* device) {
  if (const CUresult status = current_device(device); status != CUDA_SUCCESS) return status;
  if (!machine().valid_stream(stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (const CUstream_st* object = machine().stream_object(stream); object != nullptr) {
    *device = object->context->device;
  }
  return CUDA_SUCCESS;
}

void* as_pointer(CUdeviceptr address) {
  return reinterpret_cast<void*>(address);
}
CUdeviceptr as_address(const void* pointer) {
  return reinterpret_cast<CUdeviceptr>(pointer);
}

/// Whether a range that a copy names as device memory lies in one simulated allocation (or in
/// mappings without a gap that permit the use).
bool device_range(CUdeviceptr address, std::size_t size, range_use use) {
  return size == 0 || machine().covers(as_pointer(address), size, use);
}

/// The status of a virtual memory management call before its arguments are looked at:
/// CUDA_ERROR_NOT_SUPPORTED when GPUMEM_SIM_NO_VMM=1 makes the devices lack the API.
CUresult require_virtual_memory() {
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().virtual_memory_supported() ? CUDA_SUCCESS : CUDA_ERROR_NOT_SUPPORTED;
}

/// Whether a size or address is a whole number of granules of the virtual memory API.
bool granular(std::uint64_t value) {
  return value % kVirtualMemoryGranularity == 0;
}

/// Checks the properties of cuMemGetAllocationGranularity and cuMemCreate: pinned memory on a
/// device (the only kind the simulator makes).
CUresult check_allocation_properties(const CUmemAllocationProp& properties) {
  if (properties.type != CU_MEM_ALLOCATION_TYPE_PINNED ||
      properties.location.type != CU_MEM_LOCATION_TYPE_DEVICE) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  return machine().valid_device(properties.location.id) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

// --- shared implementations of the functions exported under two names (legacy / per-thread)

CUresult mem_alloc_async(CUdeviceptr* pointer,
                         std::size_t size,
                         CUmemoryPool pool,
                         CUstream stream) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  if (pointer == nullptr || size == 0) return CUDA_ERROR_INVALID_VALUE;
  if (pool == nullptr) pool = machine().current_pool(device);
  if (!machine().valid_pool(pool)) return CUDA_ERROR_INVALID_VALUE;
  void* memory = nullptr;
  const CUresult status =
      machine().allocate(pool->device, size, memory_kind::stream_ordered, pool, &memory);
  if (status != CUDA_SUCCESS) return status;
  *pointer = as_address(memory);
  machine().record_if_capturing(stream, CU_GRAPH_NODE_TYPE_MEM_ALLOC);
  return CUDA_SUCCESS;
}

CUresult mem_free_async(CUdeviceptr pointer, CUstream stream) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  const CUresult status = machine().release(as_pointer(pointer), {memory_kind::stream_ordered});
  if (status == CUDA_SUCCESS) machine().record_if_capturing(stream, CU_GRAPH_NODE_TYPE_MEM_FREE);
  return status;
}

CUresult stream_synchronize(CUstream stream) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  return machine().check_synchronize(stream);
}

CUresult stream_query(CUstream stream) {
  int device = 0;
  return stream_device(stream, &device);
}

CUresult stream_wait_event(CUstream stream, CUevent event, unsigned flags) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  if (!machine().valid_event(event)) return CUDA_ERROR_INVALID_HANDLE;
  if (flags != CU_EVENT_WAIT_DEFAULT && flags != CU_EVENT_WAIT_EXTERNAL)
    return CUDA_ERROR_INVALID_VALUE;
  return CUDA_SUCCESS;
}

CUresult stream_get_flags(CUstream stream, unsigned* flags) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  if (flags == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const CUstream_st* object = machine().stream_object(stream);
  *flags = object != nullptr ? object->flags : static_cast<unsigned>(CU_STREAM_DEFAULT);
  return CUDA_SUCCESS;
}

CUresult stream_get_ctx(CUstream stream, CUcontext* context) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  if (context == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *context = machine().primary_context(device);
  return CUDA_SUCCESS;
}

CUresult stream_get_device(CUstream stream, CUdevice* device) {
  int owner = 0;
  if (const CUresult status = stream_device(stream, &owner); status != CUDA_SUCCESS) return status;
  if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *device = owner;
  return CUDA_SUCCESS;
}

CUresult stream_is_capturing(CUstream stream, CUstreamCaptureStatus* status_out) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  if (status_out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  machine().capture_state(stream, status_out, nullptr);
  return CUDA_SUCCESS;
}

CUresult stream_get_capture_info(CUstream stream,
                                 CUstreamCaptureStatus* status_out,
                                 cuuint64_t* id_out,
                                 CUgraph* graph_out,
                                 const CUgraphNode** dependencies_out,
                                 const CUgraphEdgeData** edges_out,
                                 std::size_t* dependency_count_out) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  if (status_out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::uint64_t id = 0;
  machine().capture_state(stream, status_out, &id);
  if (id_out != nullptr) *id_out = id;
  if (graph_out != nullptr) *graph_out = nullptr;
  if (dependencies_out != nullptr) *dependencies_out = nullptr;
  if (edges_out != nullptr) *edges_out = nullptr;
  if (dependency_count_out != nullptr) *dependency_count_out = 0;
  return CUDA_SUCCESS;
}

CUresult stream_begin_capture(CUstream stream, CUstreamCaptureMode mode, CUgraph into = nullptr) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
      mode != CU_STREAM_CAPTURE_MODE_RELAXED) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  return machine().begin_capture(stream, mode, into);
}

CUresult stream_end_capture(CUstream stream, CUgraph* graph) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  if (graph == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return machine().end_capture(stream, graph);
}

CUresult event_record(CUevent event, CUstream stream) {
  int device = 0;
  if (const CUresult status = stream_device(stream, &device); status != CUDA_SUCCESS) return status;
  if (!machine().valid_event(event)) return CUDA_ERROR_INVALID_HANDLE;
  std::lock_guard lock(machine().mutex());
  event->recorded = true;
  event->recorded_at_ms = gpumem::sim::now_ms();
  return CUDA_SUCCESS;
}

CUresult copy(CUdeviceptr destination, CUdeviceptr source, std::size_t size) {
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (size == 0) return CUDA_SUCCESS;
  if (destination == 0 || source == 0) return CUDA_ERROR_INVALID_VALUE;
  // Unified addressing: a pointer inside a simulated allocation must fit in it; any other
  // pointer is host memory.
  for (const auto& [address, use] :
       {std::pair{destination, range_use::write}, std::pair{source, range_use::read}}) {
    if (machine().find(as_pointer(address)) && !device_range(address, size, use))
      return CUDA_ERROR_INVALID_VALUE;
  }
  std::memmove(as_pointer(destination), as_pointer(source), size);
  return CUDA_SUCCESS;
}

CUresult copy_checked(CUdeviceptr destination,
                      bool destination_on_device,
                      CUdeviceptr source,
                      bool source_on_device,
                      std::size_t size) {
  if (destination_on_device && !device_range(destination, size, range_use::write))
    return CUDA_ERROR_INVALID_VALUE;
  if (source_on_device && !device_range(source, size, range_use::read))
    return CUDA_ERROR_INVALID_VALUE;
  return copy(destination, source, size);
}

CUresult fill(CUdeviceptr destination,
              const void* pattern,
              std::size_t element_size,
              std::size_t count) {
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (count == 0) return CUDA_SUCCESS;
  if (!device_range(destination, count * element_size, range_use::write))
    return CUDA_ERROR_INVALID_VALUE;
  auto* bytes = static_cast<unsigned char*>(as_pointer(destination));
  for (std::size_t i = 0; i < count; ++i)
    std::memcpy(bytes + i * element_size, pattern, element_size);
  return CUDA_SUCCESS;
}

CUresult fill_async(CUdeviceptr destination,
                    const void* pattern,
                    std::size_t element_size,
                    std::size_t count,
                    CUstream stream) {
  if (!machine().valid_stream(stream)) return CUDA_ERROR_INVALID_HANDLE;
  return fill(destination, pattern, element_size, count);
}

CUresult copy_async(CUdeviceptr destination,
                    CUdeviceptr source,
                    std::size_t size,
                    CUstream stream) {
  if (!machine().valid_stream(stream)) return CUDA_ERROR_INVALID_HANDLE;
  return copy(destination, source, size);
}

CUresult managed_range(CUdeviceptr pointer, std::size_t size) {
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  const auto found = machine().find(as_pointer(pointer));
  if (!found || found->second.kind != memory_kind::managed ||
      !device_range(pointer, size, range_use::read)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

CUresult prefetch(CUdeviceptr pointer,
                  std::size_t size,
                  CUmemLocation location,
                  unsigned flags,
                  CUstream stream) {
  if (const CUresult status = managed_range(pointer, size); status != CUDA_SUCCESS) return status;
  if (!machine().valid_stream(stream) || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (location.type == CU_MEM_LOCATION_TYPE_DEVICE && !machine().valid_device(location.id)) {
    return CUDA_ERROR_INVALID_DEVICE;
  }
  return CUDA_SUCCESS;
}

CUresult launch_kernel() {
  // The simulator has no processor to run device code on.
  return CUDA_ERROR_NOT_SUPPORTED;
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Initialization, versions, devices, contexts

GPUMEM_SIM_EXPORT CUresult cuInit(unsigned int flags) {
  enter(__func__);
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  return machine().initialize();
}

GPUMEM_SIM_EXPORT CUresult cuDriverGetVersion(int* version) {
  enter(__func__);
  if (version == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *version = kDriverVersion;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuDeviceGetCount(int* count) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *count = machine().device_count();
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!machine().valid_device(ordinal)) return CUDA_ERROR_INVALID_DEVICE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuDeviceGetName(char* name, int length, CUdevice device) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device)) return CUDA_ERROR_INVALID_DEVICE;
  if (name == nullptr || length <= 0) return CUDA_ERROR_INVALID_VALUE;
  constexpr std::string_view kName = "gpumem CUDA simulator";
  const std::size_t copied =
      std::min<std::size_t>(kName.size(), static_cast<std::size_t>(length) - 1);
  std::memcpy(name, kName.data(), copied);
  name[copied] = '\0';
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuDeviceTotalMem_v2(std::size_t* bytes, CUdevice device) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device)) return CUDA_ERROR_INVALID_DEVICE;
  if (bytes == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *bytes = machine().total_memory(device);
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuDeviceGetAttribute(int* value,
                                                CUdevice_attribute attribute,
                                                CUdevice device) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device)) return CUDA_ERROR_INVALID_DEVICE;
  if (value == nullptr || attribute <= 0 || attribute >= CU_DEVICE_ATTRIBUTE_MAX)
    return CUDA_ERROR_INVALID_VALUE;
  // An H100-like device, so code that sizes itself from attributes behaves as on the GPU.
  switch (attribute) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
      *value = 9;
      break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
      *value = 0;
      break;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
      *value = 132;
      break;
    case CU_DEVICE_ATTRIBUTE_WARP_SIZE:
      *value = 32;
      break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
      *value = 1024;
      break;
    case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE:
      *value = 50 * 1024 * 1024;
      break;
    case CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT:
      *value = static_cast<int>(kPitchAlignment);
      break;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID:
      *value = device + 1;
      break;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING:
    case CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY:
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS:
    case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY:
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS:
      *value = 1;
      break;
    case CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES:
      *value = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
      break;
    case CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED:
      *value = machine().virtual_memory_supported() ? 1 : 0;
      break;
    default:
      *value = 0;
      break;
  }
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuDeviceCanAccessPeer(int* can_access, CUdevice device, CUdevice peer) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device) || !machine().valid_device(peer))
    return CUDA_ERROR_INVALID_DEVICE;
  if (can_access == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *can_access = device != peer ? 1 : 0;
  return CUDA_SUCCESS;
}

namespace {

/// Which device pairs have peer access enabled (accessor, peer).
struct peer_pairs {
  std::mutex mutex;
  std::set<std::pair<int, int>> enabled;
};
peer_pairs& enabled_peers() {
  static peer_pairs pairs;
  return pairs;
}

}  // namespace

GPUMEM_SIM_EXPORT CUresult cuCtxEnablePeerAccess(CUcontext peer, unsigned int flags) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (current_context == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  if (peer == nullptr || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (peer->device == current_context->device) return CUDA_ERROR_INVALID_DEVICE;
  // A second call is an error.
  peer_pairs& pairs = enabled_peers();
  std::lock_guard lock(pairs.mutex);
  if (!pairs.enabled.emplace(current_context->device, peer->device).second)
    return CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuCtxDisablePeerAccess(CUcontext peer) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (current_context == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  if (peer == nullptr) return CUDA_ERROR_INVALID_VALUE;
  peer_pairs& pairs = enabled_peers();
  std::lock_guard lock(pairs.mutex);
  if (pairs.enabled.erase({current_context->device, peer->device}) == 0)
    return CUDA_ERROR_PEER_ACCESS_NOT_ENABLED;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* context, CUdevice device) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device)) return CUDA_ERROR_INVALID_DEVICE;
  if (context == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *context = machine().primary_context(device);
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice device) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().valid_device(device) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

GPUMEM_SIM_EXPORT CUresult cuDevicePrimaryCtxGetState(CUdevice device,
                                                      unsigned int* flags,
                                                      int* active) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device)) return CUDA_ERROR_INVALID_DEVICE;
  if (flags == nullptr || active == nullptr) return CUDA_ERROR_INVALID_VALUE;
  // The simulator's primary contexts exist from the start.
  *flags = 0;
  *active = 1;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuIpcGetMemHandle(CUipcMemHandle* handle, CUdeviceptr pointer) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (handle == nullptr || pointer == 0) return CUDA_ERROR_INVALID_VALUE;
  return CUDA_ERROR_NOT_SUPPORTED;  // one process, no IPC
}

GPUMEM_SIM_EXPORT CUresult cuDevicePrimaryCtxReset_v2(CUdevice device) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device)) return CUDA_ERROR_INVALID_DEVICE;
  machine().reset_device(device);
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuCtxGetCurrent(CUcontext* context) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (context == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *context = current_context;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuCtxSetCurrent(CUcontext context) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (context != nullptr && !machine().valid_context(context)) return CUDA_ERROR_INVALID_CONTEXT;
  current_context = context;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuCtxPushCurrent_v2(CUcontext context) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (context == nullptr || !machine().valid_context(context)) return CUDA_ERROR_INVALID_CONTEXT;
  context_stack.push_back(current_context);
  current_context = context;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuCtxPopCurrent_v2(CUcontext* popped) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (current_context == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  if (popped != nullptr) *popped = current_context;
  if (context_stack.empty()) {
    current_context = nullptr;
  } else {
    current_context = context_stack.back();
    context_stack.pop_back();
  }
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuCtxGetDevice(CUdevice* device) {
  enter(__func__);
  int current = 0;
  if (const CUresult status = current_device(&current); status != CUDA_SUCCESS) return status;
  if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *device = current;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuCtxGetId(CUcontext context, unsigned long long* id) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (id == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (context == nullptr) context = current_context;
  if (context == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  return machine().context_id(context, id);
}

GPUMEM_SIM_EXPORT CUresult cuCtxSynchronize() {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  return machine().check_unsafe_call_during_capture(/*synchronizes=*/true);
}

// ------------------------------------------------------------------------------------------
// Memory

GPUMEM_SIM_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* pointer, std::size_t size) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (pointer == nullptr || size == 0) return CUDA_ERROR_INVALID_VALUE;
  if (const CUresult status = machine().check_unsafe_call_during_capture(false);
      status != CUDA_SUCCESS) {
    return status;
  }
  void* memory = nullptr;
  const CUresult status = machine().allocate(device, size, memory_kind::device, nullptr, &memory);
  if (status == CUDA_SUCCESS) *pointer = as_address(memory);
  return status;
}

GPUMEM_SIM_EXPORT CUresult cuMemAllocPitch_v2(CUdeviceptr* pointer,
                                              std::size_t* pitch,
                                              std::size_t width,
                                              std::size_t height,
                                              unsigned int element_size) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (pointer == nullptr || pitch == nullptr || width == 0 || height == 0 ||
      (element_size != 4 && element_size != 8 && element_size != 16)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (const CUresult status = machine().check_unsafe_call_during_capture(false);
      status != CUDA_SUCCESS) {
    return status;
  }
  const std::size_t row = (width + kPitchAlignment - 1) / kPitchAlignment * kPitchAlignment;
  void* memory = nullptr;
  const CUresult status =
      machine().allocate(device, row * height, memory_kind::device, nullptr, &memory);
  if (status == CUDA_SUCCESS) {
    *pointer = as_address(memory);
    *pitch = row;
  }
  return status;
}

GPUMEM_SIM_EXPORT CUresult cuMemFree_v2(CUdeviceptr pointer) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (pointer == 0) return CUDA_SUCCESS;
  if (const CUresult status = machine().check_unsafe_call_during_capture(true);
      status != CUDA_SUCCESS) {
    return status;
  }
  return machine().release(
      as_pointer(pointer),
      {memory_kind::device, memory_kind::managed, memory_kind::stream_ordered});
}

GPUMEM_SIM_EXPORT CUresult cuMemAllocManaged(CUdeviceptr* pointer,
                                             std::size_t size,
                                             unsigned int flags) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (pointer == nullptr || size == 0 ||
      (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (const CUresult status = machine().check_unsafe_call_during_capture(false);
      status != CUDA_SUCCESS) {
    return status;
  }
  void* memory = nullptr;
  const CUresult status = machine().allocate(device, size, memory_kind::managed, nullptr, &memory);
  if (status == CUDA_SUCCESS) *pointer = as_address(memory);
  return status;
}

GPUMEM_SIM_EXPORT CUresult cuMemGetInfo_v2(std::size_t* free_bytes, std::size_t* total_bytes) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (free_bytes == nullptr || total_bytes == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return machine().memory_info(device, free_bytes, total_bytes);
}

GPUMEM_SIM_EXPORT CUresult cuMemHostAlloc(void** pointer, std::size_t size, unsigned int flags) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  constexpr unsigned kKnownFlags =
      CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED;
  if (pointer == nullptr || (flags & ~kKnownFlags) != 0) return CUDA_ERROR_INVALID_VALUE;
  return machine().allocate(-1, size, memory_kind::pinned_host, nullptr, pointer);
}

GPUMEM_SIM_EXPORT CUresult cuMemAllocHost_v2(void** pointer, std::size_t size) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (pointer == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return machine().allocate(-1, size, memory_kind::pinned_host, nullptr, pointer);
}

GPUMEM_SIM_EXPORT CUresult cuMemFreeHost(void* pointer) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  return machine().release(pointer, {memory_kind::pinned_host});
}

GPUMEM_SIM_EXPORT CUresult cuMemGetAddressRange_v2(CUdeviceptr* base,
                                                   std::size_t* size,
                                                   CUdeviceptr pointer) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  const auto found = machine().find(as_pointer(pointer));
  if (!found || found->second.kind == memory_kind::pinned_host) return CUDA_ERROR_NOT_FOUND;
  if (base != nullptr) *base = found->first;
  if (size != nullptr) *size = found->second.size;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuPointerGetAttribute(void* data,
                                                 CUpointer_attribute attribute,
                                                 CUdeviceptr pointer) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (data == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const auto found = machine().find(as_pointer(pointer));
  if (!found) return CUDA_ERROR_INVALID_VALUE;
  const auto& [base, block] = *found;
  switch (attribute) {
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
      *static_cast<unsigned*>(data) =
          block.kind == memory_kind::pinned_host ? CU_MEMORYTYPE_HOST : CU_MEMORYTYPE_DEVICE;
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
      *static_cast<int*>(data) = std::max(block.device, 0);
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
      *static_cast<unsigned*>(data) = block.kind == memory_kind::managed ? 1U : 0U;
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_CONTEXT:
      *static_cast<CUcontext*>(data) = machine().primary_context(std::max(block.device, 0));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
      *static_cast<void**>(data) = as_pointer(pointer);
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE: {
      // Of mapped memory, NVIDIA's driver names the whole reservation (cuMemGetAddressRange
      // names the mapping).
      std::pair<std::uintptr_t, std::size_t> range{base, block.size};
      if (block.kind == memory_kind::mapped) {
        range = machine().reservation_containing(as_pointer(pointer)).value_or(range);
      }
      if (attribute == CU_POINTER_ATTRIBUTE_RANGE_START_ADDR) {
        *static_cast<CUdeviceptr*>(data) = range.first;
      } else {
        *static_cast<std::size_t*>(data) = range.second;
      }
      return CUDA_SUCCESS;
    }
    case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
      *static_cast<CUmemoryPool*>(data) = block.pool;
      return CUDA_SUCCESS;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
}

GPUMEM_SIM_EXPORT CUresult cuPointerGetAttributes(unsigned int count,
                                                  CUpointer_attribute* attributes,
                                                  void** data,
                                                  CUdeviceptr pointer) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (attributes == nullptr || data == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const bool known = machine().find(as_pointer(pointer)).has_value();
  for (unsigned i = 0; i < count; ++i) {
    if (data[i] == nullptr) continue;
    // Unlike cuPointerGetAttribute, an unknown (host) pointer is not an error here: its
    // memory type reads as 0.
    if (!known) {
      if (attributes[i] == CU_POINTER_ATTRIBUTE_MEMORY_TYPE) *static_cast<unsigned*>(data[i]) = 0;
      continue;
    }
    if (const CUresult status = cuPointerGetAttribute(data[i], attributes[i], pointer);
        status != CUDA_SUCCESS) {
      return status;
    }
  }
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuMemcpy(CUdeviceptr destination, CUdeviceptr source, std::size_t size) {
  enter(__func__);
  return copy(destination, source, size);
}
GPUMEM_SIM_EXPORT CUresult cuMemcpy_ptds(CUdeviceptr destination,
                                         CUdeviceptr source,
                                         std::size_t size) {
  enter(__func__);
  return copy(destination, source, size);
}
GPUMEM_SIM_EXPORT CUresult cuMemcpyAsync(CUdeviceptr destination,
                                         CUdeviceptr source,
                                         std::size_t size,
                                         CUstream stream) {
  enter(__func__);
  return copy_async(destination, source, size, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemcpyAsync_ptsz(CUdeviceptr destination,
                                              CUdeviceptr source,
                                              std::size_t size,
                                              CUstream stream) {
  enter(__func__);
  return copy_async(destination, source, size, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr destination,
                                           const void* source,
                                           std::size_t size) {
  enter(__func__);
  return copy_checked(destination, true, as_address(source), false, size);
}
GPUMEM_SIM_EXPORT CUresult cuMemcpyDtoH_v2(void* destination,
                                           CUdeviceptr source,
                                           std::size_t size) {
  enter(__func__);
  return copy_checked(as_address(destination), false, source, true, size);
}
GPUMEM_SIM_EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr destination,
                                           CUdeviceptr source,
                                           std::size_t size) {
  enter(__func__);
  return copy_checked(destination, true, source, true, size);
}
GPUMEM_SIM_EXPORT CUresult cuMemsetD8_v2(CUdeviceptr destination,
                                         unsigned char value,
                                         std::size_t count) {
  enter(__func__);
  return fill(destination, &value, 1, count);
}
GPUMEM_SIM_EXPORT CUresult cuMemsetD32_v2(CUdeviceptr destination,
                                          unsigned int value,
                                          std::size_t count) {
  enter(__func__);
  return fill(destination, &value, 4, count);
}
GPUMEM_SIM_EXPORT CUresult cuMemsetD8Async(CUdeviceptr destination,
                                           unsigned char value,
                                           std::size_t count,
                                           CUstream stream) {
  enter(__func__);
  return fill_async(destination, &value, 1, count, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemsetD8Async_ptsz(CUdeviceptr destination,
                                                unsigned char value,
                                                std::size_t count,
                                                CUstream stream) {
  enter(__func__);
  return fill_async(destination, &value, 1, count, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemsetD32Async(CUdeviceptr destination,
                                            unsigned int value,
                                            std::size_t count,
                                            CUstream stream) {
  enter(__func__);
  return fill_async(destination, &value, 4, count, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemsetD32Async_ptsz(CUdeviceptr destination,
                                                 unsigned int value,
                                                 std::size_t count,
                                                 CUstream stream) {
  enter(__func__);
  return fill_async(destination, &value, 4, count, stream);
}

GPUMEM_SIM_EXPORT CUresult cuMemPrefetchAsync_v2(CUdeviceptr pointer,
                                                 std::size_t size,
                                                 CUmemLocation location,
                                                 unsigned int flags,
                                                 CUstream stream) {
  enter(__func__);
  return prefetch(pointer, size, location, flags, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemPrefetchAsync_v2_ptsz(CUdeviceptr pointer,
                                                      std::size_t size,
                                                      CUmemLocation location,
                                                      unsigned int flags,
                                                      CUstream stream) {
  enter(__func__);
  return prefetch(pointer, size, location, flags, stream);
}

GPUMEM_SIM_EXPORT CUresult cuMemAdvise_v2(CUdeviceptr pointer,
                                          std::size_t size,
                                          CUmem_advise advice,
                                          CUmemLocation location) {
  enter(__func__);
  if (const CUresult status = managed_range(pointer, size); status != CUDA_SUCCESS) return status;
  if (advice < CU_MEM_ADVISE_SET_READ_MOSTLY || advice > CU_MEM_ADVISE_UNSET_ACCESSED_BY)
    return CUDA_ERROR_INVALID_VALUE;
  if (location.type == CU_MEM_LOCATION_TYPE_DEVICE && !machine().valid_device(location.id))
    return CUDA_ERROR_INVALID_DEVICE;
  return CUDA_SUCCESS;
}

// ------------------------------------------------------------------------------------------
// Virtual memory management: address space reserved with mmap(PROT_NONE), physical memory in
// memfd files, mapped over the reservation with MAP_FIXED and opened with mprotect.

GPUMEM_SIM_EXPORT CUresult cuMemGetAllocationGranularity(std::size_t* granularity,
                                                         const CUmemAllocationProp* prop,
                                                         CUmemAllocationGranularity_flags option) {
  enter(__func__);
  if (const CUresult status = require_virtual_memory(); status != CUDA_SUCCESS) return status;
  if (granularity == nullptr || prop == nullptr ||
      (option != CU_MEM_ALLOC_GRANULARITY_MINIMUM &&
       option != CU_MEM_ALLOC_GRANULARITY_RECOMMENDED)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  // Stricter than NVIDIA's driver, which answers for any properties.
  if (const CUresult status = check_allocation_properties(*prop); status != CUDA_SUCCESS)
    return status;
  *granularity = kVirtualMemoryGranularity;
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuMemAddressReserve(CUdeviceptr* ptr,
                                               std::size_t size,
                                               std::size_t alignment,
                                               CUdeviceptr addr,
                                               unsigned long long flags) {
  enter(__func__);
  if (const CUresult status = require_virtual_memory(); status != CUDA_SUCCESS) return status;
  const bool power_of_two = (alignment & (alignment - 1)) == 0;
  if (ptr == nullptr || flags != 0 || size == 0 || !granular(size) || !power_of_two ||
      addr % static_cast<CUdeviceptr>(sysconf(_SC_PAGESIZE)) != 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  std::uintptr_t base = 0;
  const CUresult status = machine().reserve_address_range(size, alignment, addr, &base);
  if (status == CUDA_SUCCESS) *ptr = base;
  return status;
}

GPUMEM_SIM_EXPORT CUresult cuMemAddressFree(CUdeviceptr ptr, std::size_t size) {
  enter(__func__);
  if (const CUresult status = require_virtual_memory(); status != CUDA_SUCCESS) return status;
  if (ptr == 0 || size == 0) return CUDA_ERROR_INVALID_VALUE;
  return machine().free_address_range(ptr, size);
}

GPUMEM_SIM_EXPORT CUresult cuMemCreate(CUmemGenericAllocationHandle* handle,
                                       std::size_t size,
                                       const CUmemAllocationProp* prop,
                                       unsigned long long flags) {
  enter(__func__);
  if (const CUresult status = require_virtual_memory(); status != CUDA_SUCCESS) return status;
  if (handle == nullptr || prop == nullptr || flags != 0 || size == 0 || !granular(size))
    return CUDA_ERROR_INVALID_VALUE;
  if (const CUresult status = check_allocation_properties(*prop); status != CUDA_SUCCESS)
    return status;
  constexpr unsigned kSupportedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
  if ((static_cast<unsigned>(prop->requestedHandleTypes) & ~kSupportedHandleTypes) != 0)
    return CUDA_ERROR_NOT_SUPPORTED;
  return machine().create_physical_memory(prop->location.id, size, handle);
}

GPUMEM_SIM_EXPORT CUresult cuMemRelease(CUmemGenericAllocationHandle handle) {
  enter(__func__);
  if (const CUresult status = require_virtual_memory(); status != CUDA_SUCCESS) return status;
  return machine().release_physical_memory(handle);
}

GPUMEM_SIM_EXPORT CUresult cuMemMap(CUdeviceptr ptr,
                                    std::size_t size,
                                    std::size_t offset,
                                    CUmemGenericAllocationHandle handle,
                                    unsigned long long flags) {
  enter(__func__);
  if (const CUresult status = require_virtual_memory(); status != CUDA_SUCCESS) return status;
  if (ptr == 0 || !granular(ptr) || size == 0 || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  return machine().map_physical_memory(ptr, size, offset, handle);
}

GPUMEM_SIM_EXPORT CUresult cuMemUnmap(CUdeviceptr ptr, std::size_t size) {
  enter(__func__);
  if (const CUresult status = require_virtual_memory(); status != CUDA_SUCCESS) return status;
  if (ptr == 0 || !granular(ptr) || size == 0 || !granular(size)) return CUDA_ERROR_INVALID_VALUE;
  return machine().unmap_range(ptr, size);
}

GPUMEM_SIM_EXPORT CUresult cuMemSetAccess(CUdeviceptr ptr,
                                          std::size_t size,
                                          const CUmemAccessDesc* desc,
                                          std::size_t count) {
  enter(__func__);
  if (const CUresult status = require_virtual_memory(); status != CUDA_SUCCESS) return status;
  if (ptr == 0 || !granular(ptr) || size == 0 || !granular(size) || desc == nullptr || count == 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  const std::span<const CUmemAccessDesc> descriptions(desc, count);
  for (const CUmemAccessDesc& description : descriptions) {
    // NVIDIA's driver answers an unknown device with CUDA_ERROR_INVALID_VALUE here.
    if (description.location.type != CU_MEM_LOCATION_TYPE_DEVICE ||
        !machine().valid_device(description.location.id) ||
        (description.flags != CU_MEM_ACCESS_FLAGS_PROT_NONE &&
         description.flags != CU_MEM_ACCESS_FLAGS_PROT_READ &&
         description.flags != CU_MEM_ACCESS_FLAGS_PROT_READWRITE)) {
      return CUDA_ERROR_INVALID_VALUE;
    }
  }
  for (const CUmemAccessDesc& description : descriptions) {
    if (const CUresult status =
            machine().set_access(ptr, size, description.location.id, description.flags);
        status != CUDA_SUCCESS) {
      return status;
    }
  }
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuMemGetAccess(unsigned long long* flags,
                                          const CUmemLocation* location,
                                          CUdeviceptr ptr) {
  enter(__func__);
  if (const CUresult status = require_virtual_memory(); status != CUDA_SUCCESS) return status;
  if (flags == nullptr || location == nullptr || location->type != CU_MEM_LOCATION_TYPE_DEVICE ||
      !machine().valid_device(location->id)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  CUmemAccess_flags access = CU_MEM_ACCESS_FLAGS_PROT_NONE;
  if (const CUresult status = machine().access_of(ptr, location->id, &access);
      status != CUDA_SUCCESS) {
    return status;
  }
  *flags = access;
  return CUDA_SUCCESS;
}

// ------------------------------------------------------------------------------------------
// Stream-ordered allocation and memory pools

GPUMEM_SIM_EXPORT CUresult cuMemAllocAsync(CUdeviceptr* pointer,
                                           std::size_t size,
                                           CUstream stream) {
  enter(__func__);
  return mem_alloc_async(pointer, size, nullptr, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemAllocAsync_ptsz(CUdeviceptr* pointer,
                                                std::size_t size,
                                                CUstream stream) {
  enter(__func__);
  return mem_alloc_async(pointer, size, nullptr, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemAllocFromPoolAsync(CUdeviceptr* pointer,
                                                   std::size_t size,
                                                   CUmemoryPool pool,
                                                   CUstream stream) {
  enter(__func__);
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return mem_alloc_async(pointer, size, pool, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr* pointer,
                                                        std::size_t size,
                                                        CUmemoryPool pool,
                                                        CUstream stream) {
  enter(__func__);
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return mem_alloc_async(pointer, size, pool, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemFreeAsync(CUdeviceptr pointer, CUstream stream) {
  enter(__func__);
  return mem_free_async(pointer, stream);
}
GPUMEM_SIM_EXPORT CUresult cuMemFreeAsync_ptsz(CUdeviceptr pointer, CUstream stream) {
  enter(__func__);
  return mem_free_async(pointer, stream);
}

GPUMEM_SIM_EXPORT CUresult cuMemPoolCreate(CUmemoryPool* pool, const CUmemPoolProps* properties) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (pool == nullptr || properties == nullptr ||
      properties->allocType != CU_MEM_ALLOCATION_TYPE_PINNED ||
      properties->location.type != CU_MEM_LOCATION_TYPE_DEVICE) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (!machine().valid_device(properties->location.id)) return CUDA_ERROR_INVALID_DEVICE;
  if ((properties->handleTypes & ~CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) != 0)
    return CUDA_ERROR_NOT_SUPPORTED;
  return machine().create_pool(properties->location.id, properties->maxSize, pool);
}

GPUMEM_SIM_EXPORT CUresult cuMemPoolDestroy(CUmemoryPool pool) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().destroy_pool(pool);
}

GPUMEM_SIM_EXPORT CUresult cuDeviceGetDefaultMemPool(CUmemoryPool* pool, CUdevice device) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device)) return CUDA_ERROR_INVALID_DEVICE;
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *pool = machine().default_pool(device);
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuMemGetDefaultMemPool(CUmemoryPool* pool,
                                                  CUmemLocation* location,
                                                  CUmemAllocationType type) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (pool == nullptr || location == nullptr || location->type != CU_MEM_LOCATION_TYPE_DEVICE)
    return CUDA_ERROR_INVALID_VALUE;
  if (!machine().valid_device(location->id)) return CUDA_ERROR_INVALID_DEVICE;
  switch (type) {
    case CU_MEM_ALLOCATION_TYPE_PINNED:
      *pool = machine().default_pool(location->id);
      return CUDA_SUCCESS;
    case CU_MEM_ALLOCATION_TYPE_MANAGED:
      *pool = machine().default_managed_pool(location->id);
      return CUDA_SUCCESS;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
}

GPUMEM_SIM_EXPORT CUresult cuDeviceGetMemPool(CUmemoryPool* pool, CUdevice device) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device)) return CUDA_ERROR_INVALID_DEVICE;
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *pool = machine().current_pool(device);
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuDeviceSetMemPool(CUdevice device, CUmemoryPool pool) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_device(device)) return CUDA_ERROR_INVALID_DEVICE;
  return machine().set_current_pool(device, pool);
}

GPUMEM_SIM_EXPORT CUresult cuMemPoolSetAccess(CUmemoryPool pool,
                                              const CUmemAccessDesc* map,
                                              std::size_t count) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_pool(pool) || (map == nullptr && count != 0))
    return CUDA_ERROR_INVALID_VALUE;
  for (std::size_t i = 0; i < count; ++i) {
    if (map[i].location.type != CU_MEM_LOCATION_TYPE_DEVICE ||
        !machine().valid_device(map[i].location.id))
      return CUDA_ERROR_INVALID_DEVICE;
  }
  return CUDA_SUCCESS;  // the simulator checks no access: every device reaches every pool
}

GPUMEM_SIM_EXPORT CUresult cuMemPoolTrimTo(CUmemoryPool pool, std::size_t /*keep*/) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().valid_pool(pool) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

GPUMEM_SIM_EXPORT CUresult cuMemPoolSetAttribute(CUmemoryPool pool,
                                                 CUmemPool_attribute attribute,
                                                 void* value) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_pool(pool) || value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard lock(machine().mutex());
  switch (attribute) {
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
      pool->reuse_follow_event_dependencies = *static_cast<int*>(value);
      return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
      pool->reuse_allow_opportunistic = *static_cast<int*>(value);
      return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES:
      pool->reuse_allow_internal_dependencies = *static_cast<int*>(value);
      return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD:
      pool->release_threshold = *static_cast<cuuint64_t*>(value);
      return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH:
      // Only a reset to zero is allowed; the simulator keeps no memory reserved beyond use.
      if (*static_cast<cuuint64_t*>(value) != 0) return CUDA_ERROR_INVALID_VALUE;
      pool->used_high = pool->used;
      return CUDA_SUCCESS;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
}

GPUMEM_SIM_EXPORT CUresult cuMemPoolGetAttribute(CUmemoryPool pool,
                                                 CUmemPool_attribute attribute,
                                                 void* value) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (!machine().valid_pool(pool) || value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard lock(machine().mutex());
  switch (attribute) {
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
      *static_cast<int*>(value) = pool->reuse_follow_event_dependencies;
      return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
      *static_cast<int*>(value) = pool->reuse_allow_opportunistic;
      return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES:
      *static_cast<int*>(value) = pool->reuse_allow_internal_dependencies;
      return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD:
      *static_cast<cuuint64_t*>(value) = pool->release_threshold;
      return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT:
    case CU_MEMPOOL_ATTR_USED_MEM_CURRENT:
      *static_cast<cuuint64_t*>(value) = pool->used;
      return CUDA_SUCCESS;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH:
      *static_cast<cuuint64_t*>(value) = pool->used_high;
      return CUDA_SUCCESS;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
}

// ------------------------------------------------------------------------------------------
// Streams, capture, graphs

GPUMEM_SIM_EXPORT CUresult cuStreamCreate(CUstream* stream, unsigned int flags) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (stream == nullptr || (flags & ~CU_STREAM_NON_BLOCKING) != 0) return CUDA_ERROR_INVALID_VALUE;
  return machine().create_stream(current_context, flags, 0, stream);
}

GPUMEM_SIM_EXPORT CUresult cuStreamCreateWithPriority(CUstream* stream,
                                                      unsigned int flags,
                                                      int priority) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  if (stream == nullptr || (flags & ~CU_STREAM_NON_BLOCKING) != 0) return CUDA_ERROR_INVALID_VALUE;
  return machine().create_stream(current_context, flags, priority, stream);
}

GPUMEM_SIM_EXPORT CUresult cuStreamDestroy_v2(CUstream stream) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().destroy_stream(stream);
}

GPUMEM_SIM_EXPORT CUresult cuStreamSynchronize(CUstream stream) {
  enter(__func__);
  return stream_synchronize(stream);
}
GPUMEM_SIM_EXPORT CUresult cuStreamSynchronize_ptsz(CUstream stream) {
  enter(__func__);
  return stream_synchronize(stream);
}
GPUMEM_SIM_EXPORT CUresult cuStreamQuery(CUstream stream) {
  enter(__func__);
  return stream_query(stream);
}
GPUMEM_SIM_EXPORT CUresult cuStreamQuery_ptsz(CUstream stream) {
  enter(__func__);
  return stream_query(stream);
}
GPUMEM_SIM_EXPORT CUresult cuStreamWaitEvent(CUstream stream, CUevent event, unsigned int flags) {
  enter(__func__);
  return stream_wait_event(stream, event, flags);
}
GPUMEM_SIM_EXPORT CUresult cuStreamWaitEvent_ptsz(CUstream stream,
                                                  CUevent event,
                                                  unsigned int flags) {
  enter(__func__);
  return stream_wait_event(stream, event, flags);
}
GPUMEM_SIM_EXPORT CUresult cuStreamGetFlags(CUstream stream, unsigned int* flags) {
  enter(__func__);
  return stream_get_flags(stream, flags);
}
GPUMEM_SIM_EXPORT CUresult cuStreamGetFlags_ptsz(CUstream stream, unsigned int* flags) {
  enter(__func__);
  return stream_get_flags(stream, flags);
}
GPUMEM_SIM_EXPORT CUresult cuStreamGetCtx(CUstream stream, CUcontext* context) {
  enter(__func__);
  return stream_get_ctx(stream, context);
}
GPUMEM_SIM_EXPORT CUresult cuStreamGetCtx_ptsz(CUstream stream, CUcontext* context) {
  enter(__func__);
  return stream_get_ctx(stream, context);
}
GPUMEM_SIM_EXPORT CUresult cuStreamGetDevice(CUstream stream, CUdevice* device) {
  enter(__func__);
  return stream_get_device(stream, device);
}
GPUMEM_SIM_EXPORT CUresult cuStreamGetDevice_ptsz(CUstream stream, CUdevice* device) {
  enter(__func__);
  return stream_get_device(stream, device);
}
GPUMEM_SIM_EXPORT CUresult cuStreamIsCapturing(CUstream stream, CUstreamCaptureStatus* status) {
  enter(__func__);
  return stream_is_capturing(stream, status);
}
GPUMEM_SIM_EXPORT CUresult cuStreamIsCapturing_ptsz(CUstream stream,
                                                    CUstreamCaptureStatus* status) {
  enter(__func__);
  return stream_is_capturing(stream, status);
}
GPUMEM_SIM_EXPORT CUresult cuStreamGetCaptureInfo_v3(CUstream stream,
                                                     CUstreamCaptureStatus* status,
                                                     cuuint64_t* id,
                                                     CUgraph* graph,
                                                     const CUgraphNode** dependencies,
                                                     const CUgraphEdgeData** edges,
                                                     std::size_t* count) {
  enter(__func__);
  return stream_get_capture_info(stream, status, id, graph, dependencies, edges, count);
}
GPUMEM_SIM_EXPORT CUresult cuStreamGetCaptureInfo_v3_ptsz(CUstream stream,
                                                          CUstreamCaptureStatus* status,
                                                          cuuint64_t* id,
                                                          CUgraph* graph,
                                                          const CUgraphNode** dependencies,
                                                          const CUgraphEdgeData** edges,
                                                          std::size_t* count) {
  enter(__func__);
  return stream_get_capture_info(stream, status, id, graph, dependencies, edges, count);
}
GPUMEM_SIM_EXPORT CUresult cuStreamBeginCapture_v2(CUstream stream, CUstreamCaptureMode mode) {
  enter(__func__);
  return stream_begin_capture(stream, mode);
}
GPUMEM_SIM_EXPORT CUresult cuStreamBeginCapture_v2_ptsz(CUstream stream, CUstreamCaptureMode mode) {
  enter(__func__);
  return stream_begin_capture(stream, mode);
}
namespace {
// The capture's work goes into the program's graph, which ending the capture hands back (with
// the nodes the simulator records: stream-ordered allocations and frees).
CUresult stream_begin_capture_to_graph(CUstream stream, CUgraph graph, CUstreamCaptureMode mode) {
  if (graph == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return stream_begin_capture(stream, mode, graph);
}
}  // namespace
GPUMEM_SIM_EXPORT CUresult cuStreamBeginCaptureToGraph(CUstream stream,
                                                       CUgraph graph,
                                                       const CUgraphNode*,
                                                       const CUgraphEdgeData*,
                                                       size_t,
                                                       CUstreamCaptureMode mode) {
  enter(__func__);
  return stream_begin_capture_to_graph(stream, graph, mode);
}
GPUMEM_SIM_EXPORT CUresult cuStreamBeginCaptureToGraph_ptsz(CUstream stream,
                                                            CUgraph graph,
                                                            const CUgraphNode*,
                                                            const CUgraphEdgeData*,
                                                            size_t,
                                                            CUstreamCaptureMode mode) {
  enter(__func__);
  return stream_begin_capture_to_graph(stream, graph, mode);
}
GPUMEM_SIM_EXPORT CUresult cuStreamEndCapture(CUstream stream, CUgraph* graph) {
  enter(__func__);
  return stream_end_capture(stream, graph);
}
GPUMEM_SIM_EXPORT CUresult cuStreamEndCapture_ptsz(CUstream stream, CUgraph* graph) {
  enter(__func__);
  return stream_end_capture(stream, graph);
}

GPUMEM_SIM_EXPORT CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode* mode) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (mode == nullptr || *mode < CU_STREAM_CAPTURE_MODE_GLOBAL ||
      *mode > CU_STREAM_CAPTURE_MODE_RELAXED) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  simulated_machine::exchange_thread_capture_mode(mode);
  return CUDA_SUCCESS;
}

GPUMEM_SIM_EXPORT CUresult cuGraphCreate(CUgraph* graph, unsigned int flags) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (graph == nullptr || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  return machine().create_graph(graph);
}

GPUMEM_SIM_EXPORT CUresult cuGraphDestroy(CUgraph graph) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().destroy_graph(graph);
}

GPUMEM_SIM_EXPORT CUresult cuGraphGetNodes(CUgraph graph, CUgraphNode* nodes, size_t* count) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().graph_nodes(graph, nodes, count);
}

GPUMEM_SIM_EXPORT CUresult cuGraphNodeGetType(CUgraphNode node, CUgraphNodeType* type) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().graph_node_type(node, type);
}

// ------------------------------------------------------------------------------------------
// Events

GPUMEM_SIM_EXPORT CUresult cuEventCreate(CUevent* event, unsigned int flags) {
  enter(__func__);
  int device = 0;
  if (const CUresult status = current_device(&device); status != CUDA_SUCCESS) return status;
  constexpr unsigned kKnownFlags =
      CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS;
  if (event == nullptr || (flags & ~kKnownFlags) != 0) return CUDA_ERROR_INVALID_VALUE;
  return machine().create_event(current_context, flags, event);
}

GPUMEM_SIM_EXPORT CUresult cuEventDestroy_v2(CUevent event) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().destroy_event(event);
}

GPUMEM_SIM_EXPORT CUresult cuEventRecord(CUevent event, CUstream stream) {
  enter(__func__);
  return event_record(event, stream);
}
GPUMEM_SIM_EXPORT CUresult cuEventRecord_ptsz(CUevent event, CUstream stream) {
  enter(__func__);
  return event_record(event, stream);
}
GPUMEM_SIM_EXPORT CUresult cuEventRecordWithFlags(CUevent event,
                                                  CUstream stream,
                                                  unsigned int /*flags*/) {
  enter(__func__);
  return event_record(event, stream);
}
GPUMEM_SIM_EXPORT CUresult cuEventRecordWithFlags_ptsz(CUevent event,
                                                       CUstream stream,
                                                       unsigned int /*flags*/) {
  enter(__func__);
  return event_record(event, stream);
}

GPUMEM_SIM_EXPORT CUresult cuEventQuery(CUevent event) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().valid_event(event) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

GPUMEM_SIM_EXPORT CUresult cuEventSynchronize(CUevent event) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  return machine().valid_event(event) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

GPUMEM_SIM_EXPORT CUresult cuEventElapsedTime_v2(float* milliseconds, CUevent start, CUevent end) {
  enter(__func__);
  if (const CUresult status = require_initialized(); status != CUDA_SUCCESS) return status;
  if (milliseconds == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!machine().valid_event(start) || !machine().valid_event(end))
    return CUDA_ERROR_INVALID_HANDLE;
  std::lock_guard lock(machine().mutex());
  if (((start->flags | end->flags) & CU_EVENT_DISABLE_TIMING) != 0 || !start->recorded ||
      !end->recorded) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  *milliseconds = static_cast<float>(end->recorded_at_ms - start->recorded_at_ms);
  return CUDA_SUCCESS;
}

// ------------------------------------------------------------------------------------------
// Kernels: not runnable on the simulator

GPUMEM_SIM_EXPORT CUresult cuLaunchKernel(CUfunction,
                                          unsigned,
                                          unsigned,
                                          unsigned,
                                          unsigned,
                                          unsigned,
                                          unsigned,
                                          unsigned,
                                          CUstream,
                                          void**,
                                          void**) {
  enter(__func__);
  return launch_kernel();
}
GPUMEM_SIM_EXPORT CUresult cuLaunchKernel_ptsz(CUfunction,
                                               unsigned,
                                               unsigned,
                                               unsigned,
                                               unsigned,
                                               unsigned,
                                               unsigned,
                                               unsigned,
                                               CUstream,
                                               void**,
                                               void**) {
  enter(__func__);
  return launch_kernel();
}

// ------------------------------------------------------------------------------------------
// Errors

GPUMEM_SIM_EXPORT CUresult cuGetErrorName(CUresult error, const char** name) {
  enter(__func__);
  if (name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const auto* description = gpumem::sim::describe_driver_error(error);
  *name = description != nullptr ? description->name : nullptr;
  return description != nullptr ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

GPUMEM_SIM_EXPORT CUresult cuGetErrorString(CUresult error, const char** text) {
  enter(__func__);
  if (text == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const auto* description = gpumem::sim::describe_driver_error(error);
  *text = description != nullptr ? description->text : nullptr;
  return description != nullptr ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

// ------------------------------------------------------------------------------------------
// Control interface for tests (gpumem_sim.h)

GPUMEM_SIM_EXPORT int gpumemSimIsSimulator(void) {
  return 1;
}
GPUMEM_SIM_EXPORT size_t gpumemSimOutstandingAllocations(int device) {
  return machine().outstanding_allocations(device);
}
GPUMEM_SIM_EXPORT uint64_t gpumemSimBytesInUse(int device) {
  return machine().bytes_in_use(device);
}
GPUMEM_SIM_EXPORT uint64_t gpumemSimCallCount(const char* function_name) {
  return function_name == nullptr ? 0 : machine().call_count(function_name);
}
GPUMEM_SIM_EXPORT void gpumemSimResetCallCounts(void) {
  machine().reset_call_counts();
}
GPUMEM_SIM_EXPORT void gpumemSimResetDeviceInternally(int device) {
  machine().reset_device(device);
}
GPUMEM_SIM_EXPORT void gpumemSimFailAllocation(uint64_t n) {
  machine().fail_allocation_number(n);
}
GPUMEM_SIM_EXPORT void gpumemSimFailAbove(uint64_t bytes) {
  machine().fail_above(bytes);
}
GPUMEM_SIM_EXPORT void gpumemSimHideMemory(uint64_t bytes) {
  machine().hide_memory(bytes);
}
