// The CUDA runtime API of gpumem's CUDA simulator: the exported cuda* functions of its
// libcudart.so.13, built over the driver entry points (driver_entry_points.hpp) with the
// runtime's rules: lazy initialization, a current device per thread bound to the device's
// primary context, the last error per thread, zero-size allocations that succeed with a null
// pointer, and the runtime's error codes.

#include <cuda.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "driver/driver_entry_points.hpp"
#include "runtime_errors.hpp"

#define GPUMEM_SIM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using gpumem::driver::driver_entry_points;
using gpumem::sim::to_runtime_error;

const gpumem::driver::driver_library& driver() {
  static const gpumem::driver::driver_library library = gpumem::driver::load_driver_library();
  return library;
}

constexpr int kRuntimeVersion = 13000;

thread_local cudaError_t last_error = cudaSuccess;
thread_local int selected_device = 0;

/// Remembers a failure as the thread's last error, as every runtime call does.
cudaError_t record(cudaError_t error) {
  if (error != cudaSuccess) last_error = error;
  return error;
}

cudaError_t record(CUresult result) {
  return record(to_runtime_error(result));
}

const driver_entry_points& legacy() {
  return driver().legacy;
}
const driver_entry_points& per_thread() {
  return driver().per_thread;
}

/// Loads and initializes the driver once per process.
cudaError_t initialize_driver() {
  if (!driver().loaded) return cudaErrorInsufficientDriver;
  static const CUresult status = legacy().init(0);
  return to_runtime_error(status);
}

/// Makes sure the calling thread has a current context: the primary context of its device.
cudaError_t ensure_context() {
  if (const cudaError_t error = initialize_driver(); error != cudaSuccess) return error;
  CUcontext context = nullptr;
  if (const CUresult status = legacy().ctx_get_current(&context); status != CUDA_SUCCESS) {
    return to_runtime_error(status);
  }
  if (context != nullptr) return cudaSuccess;
  if (const CUresult status = legacy().primary_ctx_retain(&context, selected_device);
      status != CUDA_SUCCESS) {
    return to_runtime_error(status);
  }
  return to_runtime_error(legacy().ctx_set_current(context));
}

/// The device of the current context, or the thread's selected device without one.
cudaError_t current_device(int* device) {
  if (const cudaError_t error = ensure_context(); error != cudaSuccess) return error;
  CUdevice current = 0;
  if (const CUresult status = legacy().ctx_get_device(&current); status != CUDA_SUCCESS) {
    return to_runtime_error(status);
  }
  *device = current;
  return cudaSuccess;
}

CUdeviceptr address(const void* pointer) {
  return reinterpret_cast<CUdeviceptr>(pointer);
}
CUstream driver_stream(cudaStream_t stream) {
  return stream;
}

/// Runs a driver call after making sure there is a context, and records a failure.
template <typename Call>
cudaError_t with_context(Call&& call) {
  if (const cudaError_t error = ensure_context(); error != cudaSuccess) return record(error);
  return record(call());
}

cudaError_t malloc_async(const driver_entry_points& table,
                         void** pointer,
                         std::size_t size,
                         cudaMemPool_t pool,
                         cudaStream_t stream) {
  if (pointer == nullptr) return record(cudaErrorInvalidValue);
  return with_context([&]() -> CUresult {
    if (size == 0) {
      *pointer = nullptr;
      return CUDA_SUCCESS;
    }
    CUdeviceptr memory = 0;
    const CUresult status =
        pool != nullptr
            ? table.mem_alloc_from_pool_async(&memory, size, pool, driver_stream(stream))
            : table.mem_alloc_async(&memory, size, driver_stream(stream));
    if (status == CUDA_SUCCESS) *pointer = reinterpret_cast<void*>(memory);
    return status;
  });
}

cudaError_t free_async(const driver_entry_points& table, void* pointer, cudaStream_t stream) {
  return with_context([&]() -> CUresult {
    if (pointer == nullptr) return CUDA_SUCCESS;
    return table.mem_free_async(address(pointer), driver_stream(stream));
  });
}

cudaError_t copy(const driver_entry_points& table,
                 void* destination,
                 const void* source,
                 std::size_t size,
                 cudaMemcpyKind kind,
                 bool asynchronous,
                 cudaStream_t stream) {
  return with_context([&]() -> CUresult {
    if (asynchronous) {
      if (const CUresult status = table.stream_query(driver_stream(stream)); status != CUDA_SUCCESS)
        return status;
    }
    switch (kind) {
      case cudaMemcpyHostToDevice:
        return table.memcpy_htod(address(destination), source, size);
      case cudaMemcpyDeviceToHost:
        return table.memcpy_dtoh(destination, address(source), size);
      case cudaMemcpyDeviceToDevice:
        return table.memcpy_dtod(address(destination), address(source), size);
      case cudaMemcpyHostToHost:
      case cudaMemcpyDefault:
        return table.memcpy(address(destination), address(source), size);
      default:
        return CUDA_ERROR_INVALID_VALUE;  // unreachable: checked_copy checked the kind
    }
  });
}

cudaError_t checked_copy(const driver_entry_points& table,
                         void* destination,
                         const void* source,
                         std::size_t size,
                         cudaMemcpyKind kind,
                         bool asynchronous,
                         cudaStream_t stream) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
    return record(cudaErrorInvalidMemcpyDirection);
  return copy(table, destination, source, size, kind, asynchronous, stream);
}

cudaError_t memset_async(const driver_entry_points& table,
                         void* destination,
                         int value,
                         std::size_t size,
                         cudaStream_t stream) {
  return with_context([&] {
    return table.memset_d8_async(
        address(destination), static_cast<unsigned char>(value), size, driver_stream(stream));
  });
}

CUmemLocation to_driver(cudaMemLocation location) {
  CUmemLocation converted{};
  converted.type = static_cast<CUmemLocationType>(location.type);
  converted.id = location.id;
  return converted;
}

// Kernel launch configuration pushed by nvcc's launch stubs.
struct launch_configuration {
  dim3 grid;
  dim3 block;
  std::size_t shared_memory = 0;
  cudaStream_t stream = nullptr;
};
thread_local launch_configuration pushed_configuration;

cudaError_t refuse_kernel_launch() {
  static std::once_flag warned;
  std::call_once(warned, [] {
    std::fprintf(
        stderr,
        "gpumem CUDA simulator: kernels cannot run on the simulator; the launch fails with "
        "cudaErrorNotSupported\n");
  });
  return record(cudaErrorNotSupported);
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Errors and versions

GPUMEM_SIM_EXPORT cudaError_t cudaGetLastError(void) {
  const cudaError_t error = last_error;
  last_error = cudaSuccess;
  return error;
}
GPUMEM_SIM_EXPORT cudaError_t cudaPeekAtLastError(void) {
  return last_error;
}
GPUMEM_SIM_EXPORT const char* cudaGetErrorName(cudaError_t error) {
  return gpumem::sim::runtime_error_name(error);
}
GPUMEM_SIM_EXPORT const char* cudaGetErrorString(cudaError_t error) {
  return gpumem::sim::runtime_error_text(error);
}

GPUMEM_SIM_EXPORT cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return record(cudaErrorInvalidValue);
  *version = kRuntimeVersion;
  return cudaSuccess;
}

GPUMEM_SIM_EXPORT cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return record(cudaErrorInvalidValue);
  if (!driver().loaded) {
    *version = 0;
    return cudaSuccess;
  }
  return record(legacy().driver_get_version(version));
}

// ------------------------------------------------------------------------------------------
// Devices

GPUMEM_SIM_EXPORT cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return record(cudaErrorInvalidValue);
  *count = 0;
  if (const cudaError_t error = initialize_driver(); error != cudaSuccess) return record(error);
  return record(legacy().device_get_count(count));
}

GPUMEM_SIM_EXPORT cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return record(cudaErrorInvalidValue);
  return record(current_device(device));
}

GPUMEM_SIM_EXPORT cudaError_t cudaSetDevice(int device) {
  if (const cudaError_t error = initialize_driver(); error != cudaSuccess) return record(error);
  CUdevice handle = 0;
  if (const CUresult status = legacy().device_get(&handle, device); status != CUDA_SUCCESS) {
    return record(cudaErrorInvalidDevice);
  }
  CUcontext context = nullptr;
  if (const CUresult status = legacy().primary_ctx_retain(&context, handle);
      status != CUDA_SUCCESS) {
    return record(status);
  }
  selected_device = device;
  return record(legacy().ctx_set_current(context));
}

GPUMEM_SIM_EXPORT cudaError_t cudaInitDevice(int device,
                                             unsigned int /*device_flags*/,
                                             unsigned int /*flags*/) {
  if (const cudaError_t error = initialize_driver(); error != cudaSuccess) return record(error);
  CUdevice handle = 0;
  if (legacy().device_get(&handle, device) != CUDA_SUCCESS) return record(cudaErrorInvalidDevice);
  CUcontext context = nullptr;
  return record(legacy().primary_ctx_retain(&context, handle));
}

GPUMEM_SIM_EXPORT cudaError_t cudaDeviceSynchronize(void) {
  return with_context([] { return legacy().ctx_synchronize(); });
}

GPUMEM_SIM_EXPORT cudaError_t cudaDeviceReset(void) {
  int device = 0;
  if (const cudaError_t error = current_device(&device); error != cudaSuccess) return record(error);
  return record(legacy().primary_ctx_reset(device));
}

GPUMEM_SIM_EXPORT cudaError_t cudaDeviceGetAttribute(int* value,
                                                     cudaDeviceAttr attribute,
                                                     int device) {
  if (const cudaError_t error = initialize_driver(); error != cudaSuccess) return record(error);
  return record(
      legacy().device_get_attribute(value, static_cast<CUdevice_attribute>(attribute), device));
}

GPUMEM_SIM_EXPORT cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device) {
  if (properties == nullptr) return record(cudaErrorInvalidValue);
  if (const cudaError_t error = initialize_driver(); error != cudaSuccess) return record(error);
  *properties = cudaDeviceProp{};
  if (legacy().device_get_name(properties->name, sizeof(properties->name), device) !=
      CUDA_SUCCESS) {
    return record(cudaErrorInvalidDevice);
  }
  legacy().device_total_mem(&properties->totalGlobalMem, device);
  const auto attribute = [device](CUdevice_attribute which) {
    int value = 0;
    legacy().device_get_attribute(&value, which, device);
    return value;
  };
  properties->major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  properties->minor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  properties->multiProcessorCount = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  properties->warpSize = attribute(CU_DEVICE_ATTRIBUTE_WARP_SIZE);
  properties->maxThreadsPerBlock = attribute(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  properties->l2CacheSize = attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
  properties->unifiedAddressing = attribute(CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING);
  properties->managedMemory = attribute(CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY);
  properties->concurrentManagedAccess = attribute(CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS);
  properties->memoryPoolsSupported = attribute(CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED);
  properties->pciBusID = attribute(CU_DEVICE_ATTRIBUTE_PCI_BUS_ID);
  properties->texturePitchAlignment =
      static_cast<std::size_t>(attribute(CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT));
  properties->textureAlignment = 512;
  properties->canMapHostMemory = attribute(CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY);
  properties->concurrentKernels = attribute(CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS);
  return cudaSuccess;
}

GPUMEM_SIM_EXPORT cudaError_t cudaDeviceCanAccessPeer(int* can_access, int device, int peer) {
  if (const cudaError_t error = initialize_driver(); error != cudaSuccess) return record(error);
  return record(legacy().device_can_access_peer(can_access, device, peer));
}

GPUMEM_SIM_EXPORT cudaError_t cudaDeviceDisablePeerAccess(int peer) {
  CUcontext peer_context = nullptr;
  if (legacy().primary_ctx_retain(&peer_context, peer) != CUDA_SUCCESS)
    return record(cudaErrorInvalidDevice);
  return with_context([&] { return legacy().ctx_disable_peer_access(peer_context); });
}

GPUMEM_SIM_EXPORT cudaError_t cudaDeviceEnablePeerAccess(int peer, unsigned int flags) {
  int device = 0;
  if (const cudaError_t error = current_device(&device); error != cudaSuccess) return record(error);
  int can_access = 0;
  if (flags != 0 || legacy().device_can_access_peer(&can_access, device, peer) != CUDA_SUCCESS ||
      can_access == 0) {
    return record(cudaErrorInvalidDevice);
  }
  // As NVIDIA's runtime: the driver's call on the peer's primary context.
  CUcontext peer_context = nullptr;
  if (legacy().primary_ctx_retain(&peer_context, peer) != CUDA_SUCCESS)
    return record(cudaErrorInvalidDevice);
  return with_context([&] { return legacy().ctx_enable_peer_access(peer_context, 0); });
}

// ------------------------------------------------------------------------------------------
// Memory

GPUMEM_SIM_EXPORT cudaError_t cudaMalloc(void** pointer, std::size_t size) {
  if (pointer == nullptr) return record(cudaErrorInvalidValue);
  return with_context([&]() -> CUresult {
    if (size == 0) {
      *pointer = nullptr;
      return CUDA_SUCCESS;
    }
    CUdeviceptr memory = 0;
    const CUresult status = legacy().mem_alloc(&memory, size);
    if (status == CUDA_SUCCESS) *pointer = reinterpret_cast<void*>(memory);
    return status;
  });
}

GPUMEM_SIM_EXPORT cudaError_t cudaFree(void* pointer) {
  return with_context([&]() -> CUresult {
    if (pointer == nullptr) return CUDA_SUCCESS;  // the "initialize CUDA" idiom
    return legacy().mem_free(address(pointer));
  });
}

GPUMEM_SIM_EXPORT cudaError_t cudaMallocManaged(void** pointer,
                                                std::size_t size,
                                                unsigned int flags) {
  if (pointer == nullptr) return record(cudaErrorInvalidValue);
  return with_context([&]() -> CUresult {
    CUdeviceptr memory = 0;
    const CUresult status = legacy().mem_alloc_managed(&memory, size, flags);
    if (status == CUDA_SUCCESS) *pointer = reinterpret_cast<void*>(memory);
    return status;
  });
}

GPUMEM_SIM_EXPORT cudaError_t cudaMallocPitch(void** pointer,
                                              std::size_t* pitch,
                                              std::size_t width,
                                              std::size_t height) {
  if (pointer == nullptr) return record(cudaErrorInvalidValue);
  return with_context([&]() -> CUresult {
    CUdeviceptr memory = 0;
    const CUresult status = legacy().mem_alloc_pitch(&memory, pitch, width, height, 4);
    if (status == CUDA_SUCCESS) *pointer = reinterpret_cast<void*>(memory);
    return status;
  });
}

GPUMEM_SIM_EXPORT cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  return with_context([&] { return legacy().mem_get_info(free_bytes, total_bytes); });
}

GPUMEM_SIM_EXPORT cudaError_t cudaMallocHost(void** pointer, std::size_t size) {
  return with_context([&] { return legacy().mem_alloc_host(pointer, size); });
}

GPUMEM_SIM_EXPORT cudaError_t cudaHostAlloc(void** pointer, std::size_t size, unsigned int flags) {
  return with_context([&] { return legacy().mem_host_alloc(pointer, size, flags); });
}

GPUMEM_SIM_EXPORT cudaError_t cudaFreeHost(void* pointer) {
  return with_context([&]() -> CUresult {
    if (pointer == nullptr) return CUDA_SUCCESS;
    return legacy().mem_free_host(pointer);
  });
}

GPUMEM_SIM_EXPORT cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes,
                                                       const void* pointer) {
  if (attributes == nullptr) return record(cudaErrorInvalidValue);
  return with_context([&]() -> CUresult {
    *attributes = cudaPointerAttributes{};
    unsigned memory_type = 0;
    if (legacy().pointer_get_attribute(
            &memory_type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, address(pointer)) != CUDA_SUCCESS) {
      // Memory CUDA does not know is ordinary host memory, not an error.
      attributes->type = cudaMemoryTypeUnregistered;
      attributes->device = -2;
      attributes->hostPointer = const_cast<void*>(pointer);
      return CUDA_SUCCESS;
    }
    unsigned managed = 0;
    legacy().pointer_get_attribute(&managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, address(pointer));
    legacy().pointer_get_attribute(
        &attributes->device, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, address(pointer));
    if (managed != 0) {
      attributes->type = cudaMemoryTypeManaged;
      attributes->devicePointer = const_cast<void*>(pointer);
      attributes->hostPointer = const_cast<void*>(pointer);
    } else if (memory_type == CU_MEMORYTYPE_HOST) {
      attributes->type = cudaMemoryTypeHost;
      attributes->devicePointer = const_cast<void*>(pointer);
      attributes->hostPointer = const_cast<void*>(pointer);
    } else {
      attributes->type = cudaMemoryTypeDevice;
      attributes->devicePointer = const_cast<void*>(pointer);
    }
    return CUDA_SUCCESS;
  });
}

GPUMEM_SIM_EXPORT cudaError_t cudaMemcpy(void* destination,
                                         const void* source,
                                         std::size_t size,
                                         cudaMemcpyKind kind) {
  return checked_copy(legacy(), destination, source, size, kind, false, nullptr);
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemcpy_ptds(void* destination,
                                              const void* source,
                                              std::size_t size,
                                              cudaMemcpyKind kind) {
  return checked_copy(per_thread(), destination, source, size, kind, false, nullptr);
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemcpyAsync(void* destination,
                                              const void* source,
                                              std::size_t size,
                                              cudaMemcpyKind kind,
                                              cudaStream_t stream) {
  return checked_copy(legacy(), destination, source, size, kind, true, stream);
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemcpyAsync_ptsz(void* destination,
                                                   const void* source,
                                                   std::size_t size,
                                                   cudaMemcpyKind kind,
                                                   cudaStream_t stream) {
  return checked_copy(per_thread(), destination, source, size, kind, true, stream);
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemset(void* destination, int value, std::size_t size) {
  return with_context([&] {
    return legacy().memset_d8(address(destination), static_cast<unsigned char>(value), size);
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemset_ptds(void* destination, int value, std::size_t size) {
  return with_context([&] {
    return per_thread().memset_d8(address(destination), static_cast<unsigned char>(value), size);
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemsetAsync(void* destination,
                                              int value,
                                              std::size_t size,
                                              cudaStream_t stream) {
  return memset_async(legacy(), destination, value, size, stream);
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemsetAsync_ptsz(void* destination,
                                                   int value,
                                                   std::size_t size,
                                                   cudaStream_t stream) {
  return memset_async(per_thread(), destination, value, size, stream);
}

GPUMEM_SIM_EXPORT cudaError_t cudaMemPrefetchAsync(const void* pointer,
                                                   std::size_t size,
                                                   cudaMemLocation location,
                                                   unsigned int flags,
                                                   cudaStream_t stream) {
  return with_context([&] {
    return legacy().mem_prefetch_async(
        address(pointer), size, to_driver(location), flags, driver_stream(stream));
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemPrefetchAsync_ptsz(const void* pointer,
                                                        std::size_t size,
                                                        cudaMemLocation location,
                                                        unsigned int flags,
                                                        cudaStream_t stream) {
  return with_context([&] {
    return per_thread().mem_prefetch_async(
        address(pointer), size, to_driver(location), flags, driver_stream(stream));
  });
}
// The simulator keeps no advice on a range, so it has none to report.
GPUMEM_SIM_EXPORT cudaError_t cudaMemRangeGetAttribute(void* /*data*/,
                                                       std::size_t /*data_size*/,
                                                       cudaMemRangeAttribute /*attribute*/,
                                                       const void* /*pointer*/,
                                                       std::size_t /*count*/) {
  return record(cudaErrorNotSupported);
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemAdvise(const void* pointer,
                                            std::size_t size,
                                            cudaMemoryAdvise advice,
                                            cudaMemLocation location) {
  return with_context([&] {
    return legacy().mem_advise(
        address(pointer), size, static_cast<CUmem_advise>(advice), to_driver(location));
  });
}

// ------------------------------------------------------------------------------------------
// Stream-ordered allocation and memory pools

GPUMEM_SIM_EXPORT cudaError_t cudaMallocAsync(void** pointer,
                                              std::size_t size,
                                              cudaStream_t stream) {
  return malloc_async(legacy(), pointer, size, nullptr, stream);
}
GPUMEM_SIM_EXPORT cudaError_t cudaMallocAsync_ptsz(void** pointer,
                                                   std::size_t size,
                                                   cudaStream_t stream) {
  return malloc_async(per_thread(), pointer, size, nullptr, stream);
}
GPUMEM_SIM_EXPORT cudaError_t cudaMallocFromPoolAsync(void** pointer,
                                                      std::size_t size,
                                                      cudaMemPool_t pool,
                                                      cudaStream_t stream) {
  if (pool == nullptr) return record(cudaErrorInvalidValue);
  return malloc_async(legacy(), pointer, size, pool, stream);
}
GPUMEM_SIM_EXPORT cudaError_t cudaMallocFromPoolAsync_ptsz(void** pointer,
                                                           std::size_t size,
                                                           cudaMemPool_t pool,
                                                           cudaStream_t stream) {
  if (pool == nullptr) return record(cudaErrorInvalidValue);
  return malloc_async(per_thread(), pointer, size, pool, stream);
}
GPUMEM_SIM_EXPORT cudaError_t cudaFreeAsync(void* pointer, cudaStream_t stream) {
  return free_async(legacy(), pointer, stream);
}
GPUMEM_SIM_EXPORT cudaError_t cudaFreeAsync_ptsz(void* pointer, cudaStream_t stream) {
  return free_async(per_thread(), pointer, stream);
}

GPUMEM_SIM_EXPORT cudaError_t cudaMemPoolCreate(cudaMemPool_t* pool,
                                                const cudaMemPoolProps* properties) {
  if (properties == nullptr) return record(cudaErrorInvalidValue);
  CUmemPoolProps converted{};
  converted.allocType = static_cast<CUmemAllocationType>(properties->allocType);
  converted.handleTypes = static_cast<CUmemAllocationHandleType>(properties->handleTypes);
  converted.location = to_driver(properties->location);
  converted.maxSize = properties->maxSize;
  return with_context([&] { return legacy().mem_pool_create(pool, &converted); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemPoolDestroy(cudaMemPool_t pool) {
  return with_context([&] { return legacy().mem_pool_destroy(pool); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemPoolTrimTo(cudaMemPool_t pool, std::size_t keep) {
  return with_context([&] { return legacy().mem_pool_trim_to(pool, keep); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemPoolSetAccess(cudaMemPool_t pool,
                                                   const cudaMemAccessDesc* map,
                                                   std::size_t count) {
  // cudaMemAccessDesc and CUmemAccessDesc share their layout (the runtime passes it through).
  static_assert(sizeof(cudaMemAccessDesc) == sizeof(CUmemAccessDesc));
  return with_context([&] {
    return legacy().mem_pool_set_access(pool, reinterpret_cast<const CUmemAccessDesc*>(map), count);
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool,
                                                      cudaMemPoolAttr attribute,
                                                      void* value) {
  return with_context([&] {
    return legacy().mem_pool_set_attribute(
        pool, static_cast<CUmemPool_attribute>(attribute), value);
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool,
                                                      cudaMemPoolAttr attribute,
                                                      void* value) {
  return with_context([&] {
    return legacy().mem_pool_get_attribute(
        pool, static_cast<CUmemPool_attribute>(attribute), value);
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int device) {
  return with_context([&] { return legacy().device_get_default_mem_pool(pool, device); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaMemGetDefaultMemPool(cudaMemPool_t* pool,
                                                       cudaMemLocation* location,
                                                       cudaMemAllocationType type) {
  if (location == nullptr) return record(cudaErrorInvalidValue);
  CUmemLocation driver_location = to_driver(*location);
  return with_context([&] {
    return legacy().mem_get_default_mem_pool(
        pool, &driver_location, static_cast<CUmemAllocationType>(type));
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaDeviceGetMemPool(cudaMemPool_t* pool, int device) {
  return with_context([&] { return legacy().device_get_mem_pool(pool, device); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaDeviceSetMemPool(int device, cudaMemPool_t pool) {
  return with_context([&] { return legacy().device_set_mem_pool(device, pool); });
}

// ------------------------------------------------------------------------------------------
// Streams, capture, graphs

GPUMEM_SIM_EXPORT cudaError_t cudaStreamCreateWithPriority(cudaStream_t* stream,
                                                           unsigned int flags,
                                                           int priority) {
  return with_context(
      [&] { return legacy().stream_create_with_priority(stream, flags, priority); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  return cudaStreamCreateWithPriority(stream, flags, 0);
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithPriority(stream, 0, 0);
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  return with_context([&] { return legacy().stream_destroy(stream); });
}

#define GPUMEM_SIM_STREAM_PAIR(name, table_call)                          \
  GPUMEM_SIM_EXPORT cudaError_t name(cudaStream_t stream) {               \
    return with_context([&] { return legacy().table_call(stream); });     \
  }                                                                       \
  GPUMEM_SIM_EXPORT cudaError_t name##_ptsz(cudaStream_t stream) {        \
    return with_context([&] { return per_thread().table_call(stream); }); \
  }
GPUMEM_SIM_STREAM_PAIR(cudaStreamSynchronize, stream_synchronize)
GPUMEM_SIM_STREAM_PAIR(cudaStreamQuery, stream_query)
#undef GPUMEM_SIM_STREAM_PAIR

GPUMEM_SIM_EXPORT cudaError_t cudaStreamWaitEvent(cudaStream_t stream,
                                                  cudaEvent_t event,
                                                  unsigned int flags) {
  return with_context([&] { return legacy().stream_wait_event(stream, event, flags); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamWaitEvent_ptsz(cudaStream_t stream,
                                                       cudaEvent_t event,
                                                       unsigned int flags) {
  return with_context([&] { return per_thread().stream_wait_event(stream, event, flags); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamGetFlags(cudaStream_t stream, unsigned int* flags) {
  return with_context([&] { return legacy().stream_get_flags(stream, flags); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamGetFlags_ptsz(cudaStream_t stream, unsigned int* flags) {
  return with_context([&] { return per_thread().stream_get_flags(stream, flags); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamGetDevice(cudaStream_t stream, int* device) {
  return with_context([&] { return legacy().stream_get_device(stream, device); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamGetDevice_ptsz(cudaStream_t stream, int* device) {
  return with_context([&] { return per_thread().stream_get_device(stream, device); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamIsCapturing(cudaStream_t stream,
                                                    cudaStreamCaptureStatus* status) {
  return with_context([&] {
    return legacy().stream_is_capturing(stream, reinterpret_cast<CUstreamCaptureStatus*>(status));
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamIsCapturing_ptsz(cudaStream_t stream,
                                                         cudaStreamCaptureStatus* status) {
  return with_context([&] {
    return per_thread().stream_is_capturing(stream,
                                            reinterpret_cast<CUstreamCaptureStatus*>(status));
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamGetCaptureInfo(cudaStream_t stream,
                                                       cudaStreamCaptureStatus* status,
                                                       unsigned long long* id,
                                                       cudaGraph_t* graph,
                                                       const cudaGraphNode_t** dependencies,
                                                       const cudaGraphEdgeData** edges,
                                                       std::size_t* count) {
  return with_context([&] {
    return legacy().stream_get_capture_info(stream,
                                            reinterpret_cast<CUstreamCaptureStatus*>(status),
                                            reinterpret_cast<cuuint64_t*>(id),
                                            graph,
                                            dependencies,
                                            reinterpret_cast<const CUgraphEdgeData**>(edges),
                                            count);
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamGetCaptureInfo_ptsz(cudaStream_t stream,
                                                            cudaStreamCaptureStatus* status,
                                                            unsigned long long* id,
                                                            cudaGraph_t* graph,
                                                            const cudaGraphNode_t** dependencies,
                                                            const cudaGraphEdgeData** edges,
                                                            std::size_t* count) {
  return with_context([&] {
    return per_thread().stream_get_capture_info(stream,
                                                reinterpret_cast<CUstreamCaptureStatus*>(status),
                                                reinterpret_cast<cuuint64_t*>(id),
                                                graph,
                                                dependencies,
                                                reinterpret_cast<const CUgraphEdgeData**>(edges),
                                                count);
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamBeginCapture(cudaStream_t stream,
                                                     cudaStreamCaptureMode mode) {
  return with_context([&] {
    return legacy().stream_begin_capture(stream, static_cast<CUstreamCaptureMode>(mode));
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamBeginCapture_ptsz(cudaStream_t stream,
                                                          cudaStreamCaptureMode mode) {
  return with_context([&] {
    return per_thread().stream_begin_capture(stream, static_cast<CUstreamCaptureMode>(mode));
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamBeginCaptureToGraph(cudaStream_t stream,
                                                            cudaGraph_t graph,
                                                            const cudaGraphNode_t* dependencies,
                                                            const cudaGraphEdgeData* edges,
                                                            std::size_t count,
                                                            cudaStreamCaptureMode mode) {
  return with_context([&] {
    return legacy().stream_begin_capture_to_graph(stream,
                                                  graph,
                                                  dependencies,
                                                  reinterpret_cast<const CUgraphEdgeData*>(edges),
                                                  count,
                                                  static_cast<CUstreamCaptureMode>(mode));
  });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  return with_context([&] { return legacy().stream_end_capture(stream, graph); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaStreamEndCapture_ptsz(cudaStream_t stream, cudaGraph_t* graph) {
  return with_context([&] { return per_thread().stream_end_capture(stream, graph); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaGraphCreate(cudaGraph_t* graph, unsigned int flags) {
  return with_context([&] { return legacy().graph_create(graph, flags); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  return with_context([&] { return legacy().graph_destroy(graph); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaGraphGetNodes(cudaGraph_t graph,
                                                cudaGraphNode_t* nodes,
                                                size_t* count) {
  return with_context([&] { return legacy().graph_get_nodes(graph, nodes, count); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaGraphNodeGetType(cudaGraphNode_t node, cudaGraphNodeType* type) {
  // The runtime's node types have the driver's values.
  return with_context(
      [&] { return legacy().graph_node_get_type(node, reinterpret_cast<CUgraphNodeType*>(type)); });
}

// ------------------------------------------------------------------------------------------
// Events

GPUMEM_SIM_EXPORT cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  return with_context([&] { return legacy().event_create(event, flags); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, 0);
}
GPUMEM_SIM_EXPORT cudaError_t cudaEventDestroy(cudaEvent_t event) {
  return with_context([&] { return legacy().event_destroy(event); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaEventRecordWithFlags(cudaEvent_t event,
                                                       cudaStream_t stream,
                                                       unsigned int flags) {
  return with_context([&] { return legacy().event_record_with_flags(event, stream, flags); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaEventRecordWithFlags_ptsz(cudaEvent_t event,
                                                            cudaStream_t stream,
                                                            unsigned int flags) {
  return with_context([&] { return per_thread().event_record_with_flags(event, stream, flags); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  return cudaEventRecordWithFlags(event, stream, 0);
}
GPUMEM_SIM_EXPORT cudaError_t cudaEventRecord_ptsz(cudaEvent_t event, cudaStream_t stream) {
  return cudaEventRecordWithFlags_ptsz(event, stream, 0);
}
GPUMEM_SIM_EXPORT cudaError_t cudaEventQuery(cudaEvent_t event) {
  return with_context([&] { return legacy().event_query(event); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return with_context([&] { return legacy().event_synchronize(event); });
}
GPUMEM_SIM_EXPORT cudaError_t cudaEventElapsedTime(float* milliseconds,
                                                   cudaEvent_t start,
                                                   cudaEvent_t end) {
  return with_context([&] { return legacy().event_elapsed_time(milliseconds, start, end); });
}

// ------------------------------------------------------------------------------------------
// Driver entry points through the runtime

GPUMEM_SIM_EXPORT cudaError_t
cudaGetDriverEntryPointByVersion(const char* symbol,
                                 void** function,
                                 unsigned int cuda_version,
                                 unsigned long long flags,
                                 cudaDriverEntryPointQueryResult* status) {
  if (const cudaError_t error = initialize_driver(); error != cudaSuccess) return record(error);
  CUdriverProcAddressQueryResult driver_status{};
  const CUresult result = legacy().get_proc_address(
      symbol, function, static_cast<int>(cuda_version), flags, &driver_status);
  if (status != nullptr) *status = static_cast<cudaDriverEntryPointQueryResult>(driver_status);
  return record(result);
}
GPUMEM_SIM_EXPORT cudaError_t
cudaGetDriverEntryPointByVersion_ptsz(const char* symbol,
                                      void** function,
                                      unsigned int cuda_version,
                                      unsigned long long flags,
                                      cudaDriverEntryPointQueryResult* status) {
  return cudaGetDriverEntryPointByVersion(symbol, function, cuda_version, flags, status);
}
GPUMEM_SIM_EXPORT cudaError_t cudaGetDriverEntryPoint(const char* symbol,
                                                      void** function,
                                                      unsigned long long flags,
                                                      cudaDriverEntryPointQueryResult* status) {
  return cudaGetDriverEntryPointByVersion(symbol, function, kRuntimeVersion, flags, status);
}
GPUMEM_SIM_EXPORT cudaError_t
cudaGetDriverEntryPoint_ptsz(const char* symbol,
                             void** function,
                             unsigned long long flags,
                             cudaDriverEntryPointQueryResult* status) {
  return cudaGetDriverEntryPointByVersion(symbol, function, kRuntimeVersion, flags, status);
}

// ------------------------------------------------------------------------------------------
// Module registration and kernel launch, as nvcc's generated host code calls them. Modules
// register (so programs with device code start), but no kernel can run.

GPUMEM_SIM_EXPORT void** __cudaRegisterFatBinary(void* /*fat_cubin*/) {
  static void* handle = nullptr;
  return &handle;
}
GPUMEM_SIM_EXPORT void __cudaRegisterFatBinaryEnd(void** /*handle*/) {}
GPUMEM_SIM_EXPORT void __cudaUnregisterFatBinary(void** /*handle*/) {}
GPUMEM_SIM_EXPORT char __cudaInitModule(void** /*handle*/) {
  return 0;
}
GPUMEM_SIM_EXPORT void __cudaRegisterFunction(
    void**, const char*, char*, const char*, int, uint3*, uint3*, dim3*, dim3*, int*) {}
GPUMEM_SIM_EXPORT void __cudaRegisterVar(
    void**, char*, char*, const char*, int, std::size_t, int, int) {}
GPUMEM_SIM_EXPORT void __cudaRegisterManagedVar(
    void**, void**, char*, const char*, int, std::size_t, int, int) {}
GPUMEM_SIM_EXPORT unsigned __cudaPushCallConfiguration(dim3 grid,
                                                       dim3 block,
                                                       std::size_t shared_memory,
                                                       CUstream_st* stream) {
  pushed_configuration = launch_configuration{grid, block, shared_memory, stream};
  return 0;
}
GPUMEM_SIM_EXPORT cudaError_t __cudaPopCallConfiguration(dim3* grid,
                                                         dim3* block,
                                                         std::size_t* shared_memory,
                                                         void* stream) {
  *grid = pushed_configuration.grid;
  *block = pushed_configuration.block;
  *shared_memory = pushed_configuration.shared_memory;
  *static_cast<cudaStream_t*>(stream) = pushed_configuration.stream;
  return cudaSuccess;
}
GPUMEM_SIM_EXPORT cudaError_t __cudaGetKernel(cudaKernel_t* kernel, const void* function) {
  *kernel = reinterpret_cast<cudaKernel_t>(const_cast<void*>(function));
  return cudaSuccess;
}
GPUMEM_SIM_EXPORT cudaError_t
__cudaLaunchKernel(cudaKernel_t, dim3, dim3, void**, std::size_t, cudaStream_t) {
  return refuse_kernel_launch();
}
GPUMEM_SIM_EXPORT cudaError_t
__cudaLaunchKernel_ptsz(cudaKernel_t, dim3, dim3, void**, std::size_t, cudaStream_t) {
  return refuse_kernel_launch();
}
GPUMEM_SIM_EXPORT cudaError_t
cudaLaunchKernel(const void*, dim3, dim3, void**, std::size_t, cudaStream_t) {
  return refuse_kernel_launch();
}
GPUMEM_SIM_EXPORT cudaError_t
cudaLaunchKernel_ptsz(const void*, dim3, dim3, void**, std::size_t, cudaStream_t) {
  return refuse_kernel_launch();
}
