#include "driver_entry_points.hpp"

#include <dlfcn.h>

#include <cstdio>

namespace gpumem::driver {
namespace {

// The ABI of every entry point in the table is the one cuda.h declares without a version
// suffix macro, as of CUDA 12.8. CUDA 13.0 added new ABIs under old names (cuCtxGetDevice_v2
// and cuCtxSynchronize_v2 take a context): asking for 13000 would hand those out.
constexpr int kRuntimeCudaVersion = 12080;

class entry_point_resolver {
 public:
  entry_point_resolver(decltype(&::cuGetProcAddress) get_proc_address, cuuint64_t flags)
      : get_proc_address_(get_proc_address), flags_(flags) {}

  template <typename Function>
  void operator()(Function& slot, const char* name) {
    void* function = nullptr;
    CUdriverProcAddressQueryResult status{};
    if (get_proc_address_(name, &function, kRuntimeCudaVersion, flags_, &status) != CUDA_SUCCESS ||
        function == nullptr) {
      std::fprintf(stderr, "gpumem: the CUDA driver has no entry point %s\n", name);
      complete_ = false;
      return;
    }
    slot = reinterpret_cast<Function>(function);
  }

  [[nodiscard]] bool complete() const { return complete_; }

 private:
  decltype(&::cuGetProcAddress) get_proc_address_;
  cuuint64_t flags_;
  bool complete_ = true;
};

bool resolve(driver_entry_points& table,
             decltype(&::cuGetProcAddress) get_proc_address,
             cuuint64_t flags) {
  entry_point_resolver resolve{get_proc_address, flags};
  table.get_proc_address = get_proc_address;
  resolve(table.init, "cuInit");
  resolve(table.driver_get_version, "cuDriverGetVersion");
  resolve(table.device_get, "cuDeviceGet");
  resolve(table.device_get_count, "cuDeviceGetCount");
  resolve(table.device_get_name, "cuDeviceGetName");
  resolve(table.device_total_mem, "cuDeviceTotalMem");
  resolve(table.device_get_attribute, "cuDeviceGetAttribute");
  resolve(table.device_can_access_peer, "cuDeviceCanAccessPeer");
  resolve(table.primary_ctx_retain, "cuDevicePrimaryCtxRetain");
  resolve(table.primary_ctx_reset, "cuDevicePrimaryCtxReset");
  resolve(table.primary_ctx_get_state, "cuDevicePrimaryCtxGetState");
  resolve(table.ctx_get_current, "cuCtxGetCurrent");
  resolve(table.ctx_set_current, "cuCtxSetCurrent");
  resolve(table.ctx_get_device, "cuCtxGetDevice");
  resolve(table.ctx_synchronize, "cuCtxSynchronize");
  resolve(table.ctx_get_id, "cuCtxGetId");
  resolve(table.mem_alloc, "cuMemAlloc");
  resolve(table.mem_alloc_pitch, "cuMemAllocPitch");
  resolve(table.mem_free, "cuMemFree");
  resolve(table.mem_alloc_managed, "cuMemAllocManaged");
  resolve(table.mem_get_info, "cuMemGetInfo");
  resolve(table.mem_host_alloc, "cuMemHostAlloc");
  resolve(table.mem_alloc_host, "cuMemAllocHost");
  resolve(table.mem_free_host, "cuMemFreeHost");
  resolve(table.pointer_get_attribute, "cuPointerGetAttribute");
  resolve(table.memcpy, "cuMemcpy");
  resolve(table.memcpy_async, "cuMemcpyAsync");
  resolve(table.memcpy_htod, "cuMemcpyHtoD");
  resolve(table.memcpy_dtoh, "cuMemcpyDtoH");
  resolve(table.memcpy_dtod, "cuMemcpyDtoD");
  resolve(table.memset_d8, "cuMemsetD8");
  resolve(table.memset_d8_async, "cuMemsetD8Async");
  resolve(table.mem_prefetch_async, "cuMemPrefetchAsync");
  resolve(table.mem_advise, "cuMemAdvise");
  resolve(table.mem_alloc_async, "cuMemAllocAsync");
  resolve(table.mem_alloc_from_pool_async, "cuMemAllocFromPoolAsync");
  resolve(table.mem_free_async, "cuMemFreeAsync");
  resolve(table.mem_pool_create, "cuMemPoolCreate");
  resolve(table.mem_pool_destroy, "cuMemPoolDestroy");
  resolve(table.mem_pool_trim_to, "cuMemPoolTrimTo");
  resolve(table.mem_pool_set_attribute, "cuMemPoolSetAttribute");
  resolve(table.mem_pool_get_attribute, "cuMemPoolGetAttribute");
  resolve(table.device_get_default_mem_pool, "cuDeviceGetDefaultMemPool");
  resolve(table.device_get_mem_pool, "cuDeviceGetMemPool");
  resolve(table.device_set_mem_pool, "cuDeviceSetMemPool");
  resolve(table.stream_create_with_priority, "cuStreamCreateWithPriority");
  resolve(table.stream_destroy, "cuStreamDestroy");
  resolve(table.stream_synchronize, "cuStreamSynchronize");
  resolve(table.stream_query, "cuStreamQuery");
  resolve(table.stream_wait_event, "cuStreamWaitEvent");
  resolve(table.stream_get_flags, "cuStreamGetFlags");
  resolve(table.stream_get_device, "cuStreamGetDevice");
  resolve(table.stream_is_capturing, "cuStreamIsCapturing");
  resolve(table.stream_get_capture_info, "cuStreamGetCaptureInfo");
  resolve(table.stream_begin_capture, "cuStreamBeginCapture");
  resolve(table.stream_end_capture, "cuStreamEndCapture");
  resolve(table.graph_destroy, "cuGraphDestroy");
  resolve(table.event_create, "cuEventCreate");
  resolve(table.event_destroy, "cuEventDestroy");
  resolve(table.event_record_with_flags, "cuEventRecordWithFlags");
  resolve(table.event_query, "cuEventQuery");
  resolve(table.event_synchronize, "cuEventSynchronize");
  resolve(table.event_elapsed_time, "cuEventElapsedTime");
  resolve(table.get_error_name, "cuGetErrorName");
  resolve(table.get_error_string, "cuGetErrorString");
  resolve(table.ctx_push_current, "cuCtxPushCurrent");
  resolve(table.ctx_pop_current, "cuCtxPopCurrent");
  return resolve.complete();
}

}  // namespace

driver_library load_driver_library(symbol_lookup lookup) {
  driver_library library;
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) return library;
  if (lookup == nullptr) lookup = &dlsym;
  auto* entry =
      reinterpret_cast<decltype(&::cuGetProcAddress)>(lookup(handle, "cuGetProcAddress_v2"));
  if (entry == nullptr) return library;
  // Like NVIDIA's runtime, use the cuGetProcAddress that cuGetProcAddress itself returns.
  void* self = nullptr;
  if (entry("cuGetProcAddress", &self, kRuntimeCudaVersion, CU_GET_PROC_ADDRESS_DEFAULT, nullptr) !=
          CUDA_SUCCESS ||
      self == nullptr) {
    return library;
  }
  auto* get_proc_address = reinterpret_cast<decltype(&::cuGetProcAddress)>(self);
  library.loaded =
      resolve(library.legacy, get_proc_address, CU_GET_PROC_ADDRESS_LEGACY_STREAM) &&
      resolve(library.per_thread, get_proc_address, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  return library;
}

}  // namespace gpumem::driver
