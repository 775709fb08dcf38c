#pragma once
// A table of CUDA driver entry points, found the way NVIDIA's runtime finds them:
// dlopen("libcuda.so.1"), dlsym(handle, "cuGetProcAddress_v2"), then that function asked for
// "cuGetProcAddress" and every other entry point. Used by the simulator's runtime (so a
// preload that interposes dlsym and cuGetProcAddress sees it exactly as it sees NVIDIA's
// runtime) and by tests that call the driver without linking libcuda.so.1.

#include <cuda.h>

namespace gpumem::driver {

/// One table of driver functions, for one stream semantic (legacy or per-thread default).
struct driver_entry_points {
  decltype(&::cuInit) init = nullptr;
  decltype(&::cuDriverGetVersion) driver_get_version = nullptr;
  decltype(&::cuDeviceGet) device_get = nullptr;
  decltype(&::cuDeviceGetCount) device_get_count = nullptr;
  decltype(&::cuDeviceGetName) device_get_name = nullptr;
  decltype(&::cuDeviceTotalMem) device_total_mem = nullptr;
  decltype(&::cuDeviceGetAttribute) device_get_attribute = nullptr;
  decltype(&::cuDeviceCanAccessPeer) device_can_access_peer = nullptr;
  decltype(&::cuDevicePrimaryCtxRetain) primary_ctx_retain = nullptr;
  decltype(&::cuDevicePrimaryCtxReset) primary_ctx_reset = nullptr;
  decltype(&::cuDevicePrimaryCtxGetState) primary_ctx_get_state = nullptr;
  decltype(&::cuCtxGetCurrent) ctx_get_current = nullptr;
  decltype(&::cuCtxSetCurrent) ctx_set_current = nullptr;
  decltype(&::cuCtxGetDevice) ctx_get_device = nullptr;
  decltype(&::cuCtxSynchronize) ctx_synchronize = nullptr;
  decltype(&::cuCtxGetId) ctx_get_id = nullptr;
  decltype(&::cuMemAlloc) mem_alloc = nullptr;
  decltype(&::cuMemAllocPitch) mem_alloc_pitch = nullptr;
  decltype(&::cuMemFree) mem_free = nullptr;
  decltype(&::cuMemAllocManaged) mem_alloc_managed = nullptr;
  decltype(&::cuMemGetInfo) mem_get_info = nullptr;
  decltype(&::cuMemHostAlloc) mem_host_alloc = nullptr;
  decltype(&::cuMemAllocHost) mem_alloc_host = nullptr;
  decltype(&::cuMemFreeHost) mem_free_host = nullptr;
  decltype(&::cuPointerGetAttribute) pointer_get_attribute = nullptr;
  decltype(&::cuMemcpy) memcpy = nullptr;
  decltype(&::cuMemcpyAsync) memcpy_async = nullptr;
  decltype(&::cuMemcpyHtoD) memcpy_htod = nullptr;
  decltype(&::cuMemcpyDtoH) memcpy_dtoh = nullptr;
  decltype(&::cuMemcpyDtoD) memcpy_dtod = nullptr;
  decltype(&::cuMemsetD8) memset_d8 = nullptr;
  decltype(&::cuMemsetD8Async) memset_d8_async = nullptr;
  decltype(&::cuMemPrefetchAsync) mem_prefetch_async = nullptr;
  decltype(&::cuMemAdvise) mem_advise = nullptr;
  decltype(&::cuMemAllocAsync) mem_alloc_async = nullptr;
  decltype(&::cuMemAllocFromPoolAsync) mem_alloc_from_pool_async = nullptr;
  decltype(&::cuMemFreeAsync) mem_free_async = nullptr;
  decltype(&::cuMemPoolCreate) mem_pool_create = nullptr;
  decltype(&::cuMemPoolDestroy) mem_pool_destroy = nullptr;
  decltype(&::cuMemPoolTrimTo) mem_pool_trim_to = nullptr;
  decltype(&::cuMemPoolSetAttribute) mem_pool_set_attribute = nullptr;
  decltype(&::cuMemPoolGetAttribute) mem_pool_get_attribute = nullptr;
  decltype(&::cuDeviceGetDefaultMemPool) device_get_default_mem_pool = nullptr;
  decltype(&::cuDeviceGetMemPool) device_get_mem_pool = nullptr;
  decltype(&::cuDeviceSetMemPool) device_set_mem_pool = nullptr;
  decltype(&::cuStreamCreateWithPriority) stream_create_with_priority = nullptr;
  decltype(&::cuStreamDestroy) stream_destroy = nullptr;
  decltype(&::cuStreamSynchronize) stream_synchronize = nullptr;
  decltype(&::cuStreamQuery) stream_query = nullptr;
  decltype(&::cuStreamWaitEvent) stream_wait_event = nullptr;
  decltype(&::cuStreamGetFlags) stream_get_flags = nullptr;
  decltype(&::cuStreamGetDevice) stream_get_device = nullptr;
  decltype(&::cuStreamIsCapturing) stream_is_capturing = nullptr;
  decltype(&::cuStreamGetCaptureInfo) stream_get_capture_info = nullptr;
  decltype(&::cuStreamBeginCapture) stream_begin_capture = nullptr;
  decltype(&::cuStreamEndCapture) stream_end_capture = nullptr;
  decltype(&::cuGraphDestroy) graph_destroy = nullptr;
  decltype(&::cuEventCreate) event_create = nullptr;
  decltype(&::cuEventDestroy) event_destroy = nullptr;
  decltype(&::cuEventRecordWithFlags) event_record_with_flags = nullptr;
  decltype(&::cuEventQuery) event_query = nullptr;
  decltype(&::cuEventSynchronize) event_synchronize = nullptr;
  decltype(&::cuEventElapsedTime) event_elapsed_time = nullptr;
  decltype(&::cuGetProcAddress) get_proc_address = nullptr;
  decltype(&::cuGetErrorName) get_error_name = nullptr;
  decltype(&::cuGetErrorString) get_error_string = nullptr;
  decltype(&::cuCtxPushCurrent) ctx_push_current = nullptr;
  decltype(&::cuCtxPopCurrent) ctx_pop_current = nullptr;
};

/// The driver as the runtime sees it: both tables, or why it could not be loaded.
struct driver_library {
  driver_entry_points legacy;      ///< CU_GET_PROC_ADDRESS_LEGACY_STREAM
  driver_entry_points per_thread;  ///< CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
  bool loaded = false;             ///< false: libcuda.so.1 or an entry point is missing
};

/// How a symbol is looked up in a loaded library (dlsym, or a preload's real dlsym).
using symbol_lookup = void* (*)(void* handle, const char* symbol);

/// Loads libcuda.so.1 with dlopen and resolves both tables, looking up cuGetProcAddress_v2
/// with `lookup`; `loaded` is false when the library or an entry point is missing (a message
/// names the missing entry point).
driver_library load_driver_library(symbol_lookup lookup = nullptr);

}  // namespace gpumem::driver
