#pragma once
// A table of CUDA driver entry points, found the way NVIDIA's runtime finds them:
// dlopen("libcuda.so.1"), dlsym(handle, "cuGetProcAddress_v2"), then that function asked for
// "cuGetProcAddress" and every other entry point. Used by the simulator's runtime (so a
// preload that interposes dlsym and cuGetProcAddress sees it exactly as it sees NVIDIA's
// runtime) and by tests that call the driver without linking libcuda.so.1.

#include <cuda.h>

#include <string>
#include <vector>

namespace gpumem::driver {

/**
 * @brief Every driver function gpumem calls, one line each: the table member, the entry point's
 * name (the ABI cuda.h declares without a version suffix, as of CUDA 12.8), and whether the
 * shim and the simulator's runtime cannot work without it (`required`) or do without it where
 * the driver lacks it (`optional`: the member stays null, every use checks, and the loader
 * names what is missing). One list: the table, its resolution and its messages come from it.
 */
#define GPUMEM_DRIVER_ENTRY_POINTS(X)                                        \
  X(init, cuInit, required)                                                  \
  X(driver_get_version, cuDriverGetVersion, required)                        \
  X(device_get, cuDeviceGet, required)                                       \
  X(device_get_count, cuDeviceGetCount, required)                            \
  X(device_get_name, cuDeviceGetName, optional)                              \
  X(device_total_mem, cuDeviceTotalMem, required)                            \
  X(device_get_attribute, cuDeviceGetAttribute, required)                    \
  X(device_can_access_peer, cuDeviceCanAccessPeer, optional)                 \
  X(primary_ctx_retain, cuDevicePrimaryCtxRetain, required)                  \
  X(primary_ctx_reset, cuDevicePrimaryCtxReset, required)                    \
  X(primary_ctx_get_state, cuDevicePrimaryCtxGetState, optional)             \
  X(ctx_get_current, cuCtxGetCurrent, required)                              \
  X(ctx_set_current, cuCtxSetCurrent, required)                              \
  X(ctx_get_device, cuCtxGetDevice, required)                                \
  X(ctx_synchronize, cuCtxSynchronize, required)                             \
  X(ctx_get_id, cuCtxGetId, optional)                                        \
  X(mem_alloc, cuMemAlloc, required)                                         \
  X(mem_alloc_pitch, cuMemAllocPitch, required)                              \
  X(mem_free, cuMemFree, required)                                           \
  X(mem_alloc_managed, cuMemAllocManaged, required)                          \
  X(mem_get_info, cuMemGetInfo, required)                                    \
  X(mem_host_alloc, cuMemHostAlloc, optional)                                \
  X(mem_alloc_host, cuMemAllocHost, optional)                                \
  X(mem_free_host, cuMemFreeHost, optional)                                  \
  X(pointer_get_attribute, cuPointerGetAttribute, optional)                  \
  X(memcpy, cuMemcpy, optional)                                              \
  X(memcpy_async, cuMemcpyAsync, optional)                                   \
  X(memcpy_htod, cuMemcpyHtoD, optional)                                     \
  X(memcpy_dtoh, cuMemcpyDtoH, optional)                                     \
  X(memcpy_dtod, cuMemcpyDtoD, optional)                                     \
  X(memset_d8, cuMemsetD8, optional)                                         \
  X(memset_d8_async, cuMemsetD8Async, optional)                              \
  X(mem_prefetch_async, cuMemPrefetchAsync, optional)                        \
  X(mem_advise, cuMemAdvise, optional)                                       \
  X(mem_alloc_async, cuMemAllocAsync, optional)                              \
  X(mem_alloc_from_pool_async, cuMemAllocFromPoolAsync, optional)            \
  X(mem_free_async, cuMemFreeAsync, optional)                                \
  X(mem_pool_create, cuMemPoolCreate, optional)                              \
  X(mem_pool_destroy, cuMemPoolDestroy, optional)                            \
  X(mem_pool_trim_to, cuMemPoolTrimTo, optional)                             \
  X(mem_pool_set_attribute, cuMemPoolSetAttribute, optional)                 \
  X(mem_pool_get_attribute, cuMemPoolGetAttribute, optional)                 \
  X(mem_pool_set_access, cuMemPoolSetAccess, optional)                       \
  X(device_get_default_mem_pool, cuDeviceGetDefaultMemPool, optional)        \
  X(mem_get_default_mem_pool, cuMemGetDefaultMemPool, optional)              \
  X(device_get_mem_pool, cuDeviceGetMemPool, optional)                       \
  X(device_set_mem_pool, cuDeviceSetMemPool, optional)                       \
  X(stream_create_with_priority, cuStreamCreateWithPriority, optional)       \
  X(stream_destroy, cuStreamDestroy, required)                               \
  X(stream_synchronize, cuStreamSynchronize, required)                       \
  X(stream_query, cuStreamQuery, optional)                                   \
  X(stream_wait_event, cuStreamWaitEvent, required)                          \
  X(stream_get_flags, cuStreamGetFlags, optional)                            \
  X(stream_get_device, cuStreamGetDevice, optional)                          \
  X(stream_get_ctx, cuStreamGetCtx, optional)                                \
  X(stream_is_capturing, cuStreamIsCapturing, required)                      \
  X(stream_get_capture_info, cuStreamGetCaptureInfo, optional)               \
  X(stream_begin_capture, cuStreamBeginCapture, optional)                    \
  X(stream_begin_capture_to_graph, cuStreamBeginCaptureToGraph, optional)    \
  X(stream_end_capture, cuStreamEndCapture, optional)                        \
  X(exchange_capture_mode, cuThreadExchangeStreamCaptureMode, optional)      \
  X(graph_create, cuGraphCreate, optional)                                   \
  X(graph_destroy, cuGraphDestroy, optional)                                 \
  X(graph_get_nodes, cuGraphGetNodes, optional)                              \
  X(graph_node_get_type, cuGraphNodeGetType, optional)                       \
  X(event_create, cuEventCreate, required)                                   \
  X(event_destroy, cuEventDestroy, required)                                 \
  X(event_record_with_flags, cuEventRecordWithFlags, required)               \
  X(event_query, cuEventQuery, optional)                                     \
  X(event_synchronize, cuEventSynchronize, required)                         \
  X(event_elapsed_time, cuEventElapsedTime, optional)                        \
  X(get_error_name, cuGetErrorName, required)                                \
  X(get_error_string, cuGetErrorString, required)                            \
  X(ctx_push_current, cuCtxPushCurrent, required)                            \
  X(ctx_pop_current, cuCtxPopCurrent, required)                              \
  X(ipc_get_mem_handle, cuIpcGetMemHandle, optional)                         \
  X(mem_get_address_range, cuMemGetAddressRange, required)                   \
  X(mem_get_allocation_granularity, cuMemGetAllocationGranularity, optional) \
  X(mem_address_reserve, cuMemAddressReserve, optional)                      \
  X(mem_address_free, cuMemAddressFree, optional)                            \
  X(mem_create, cuMemCreate, optional)                                       \
  X(mem_release, cuMemRelease, optional)                                     \
  X(mem_map, cuMemMap, optional)                                             \
  X(mem_unmap, cuMemUnmap, optional)                                         \
  X(mem_set_access, cuMemSetAccess, optional)                                \
  X(mem_get_access, cuMemGetAccess, optional)                                \
  X(ctx_enable_peer_access, cuCtxEnablePeerAccess, optional)                 \
  X(ctx_disable_peer_access, cuCtxDisablePeerAccess, optional)

/// One table of driver functions, for one stream semantic (legacy or per-thread default).
struct driver_entry_points {
#define GPUMEM_DRIVER_ENTRY_POINT_MEMBER(member, function, need) \
  decltype(&::function) member = nullptr;
  GPUMEM_DRIVER_ENTRY_POINTS(GPUMEM_DRIVER_ENTRY_POINT_MEMBER)
#undef GPUMEM_DRIVER_ENTRY_POINT_MEMBER
  decltype(&::cuGetProcAddress) get_proc_address = nullptr;  ///< the one the table came from
};

/// The driver as the runtime sees it: both tables, or why it could not be loaded.
struct driver_library {
  driver_entry_points legacy;      ///< CU_GET_PROC_ADDRESS_LEGACY_STREAM
  driver_entry_points per_thread;  ///< CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
  bool loaded = false;             ///< false: libcuda.so.1 or a required entry point is missing
  /// The entry points the driver lacks, required ones first ("cuX (required)"); empty when
  /// it has them all. The loader prints nothing: its user says what the lack means.
  std::vector<std::string> missing;
};

/// How a symbol is looked up in a loaded library (dlsym, or a preload's real dlsym).
using symbol_lookup = void* (*)(void* handle, const char* symbol);

/// Loads libcuda.so.1 with dlopen and resolves both tables, looking up cuGetProcAddress_v2
/// with `lookup`; `loaded` is false when the library or a required entry point is missing, and
/// `missing` names every entry point the driver lacks.
driver_library load_driver_library(symbol_lookup lookup = nullptr);

}  // namespace gpumem::driver
