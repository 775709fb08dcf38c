// cuGetProcAddress of gpumem's CUDA simulator: the way the CUDA runtime (static or shared)
// and frameworks find driver entry points. A symbol is asked for by its base name
// ("cuMemAlloc"), the CUDA version the caller was built for selects the ABI version
// (cuMemAlloc_v2 since 3.2), and the per-thread-default-stream flag selects the _ptsz/_ptds
// variant where one exists.

#include <cuda.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <string>

#include "simulated_machine.hpp"

#undef cuGetProcAddress

#define GPUMEM_SIM_EXPORT extern "C" __attribute__((visibility("default")))

// Entry points that cuda.h declares only for the driver's own build.
extern "C" {
CUresult cuMemcpy_ptds(CUdeviceptr, CUdeviceptr, size_t);
CUresult cuMemcpyAsync_ptsz(CUdeviceptr, CUdeviceptr, size_t, CUstream);
CUresult cuMemsetD8Async_ptsz(CUdeviceptr, unsigned char, size_t, CUstream);
CUresult cuMemsetD32Async_ptsz(CUdeviceptr, unsigned int, size_t, CUstream);
CUresult cuMemPrefetchAsync_v2_ptsz(CUdeviceptr, size_t, CUmemLocation, unsigned int, CUstream);
CUresult cuMemAllocAsync_ptsz(CUdeviceptr*, size_t, CUstream);
CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr*, size_t, CUmemoryPool, CUstream);
CUresult cuMemFreeAsync_ptsz(CUdeviceptr, CUstream);
CUresult cuStreamSynchronize_ptsz(CUstream);
CUresult cuStreamQuery_ptsz(CUstream);
CUresult cuStreamWaitEvent_ptsz(CUstream, CUevent, unsigned int);
CUresult cuStreamGetFlags_ptsz(CUstream, unsigned int*);
CUresult cuStreamGetCtx_ptsz(CUstream, CUcontext*);
CUresult cuStreamGetDevice_ptsz(CUstream, CUdevice*);
CUresult cuStreamIsCapturing_ptsz(CUstream, CUstreamCaptureStatus*);
CUresult cuStreamGetCaptureInfo_v3_ptsz(CUstream,
                                        CUstreamCaptureStatus*,
                                        cuuint64_t*,
                                        CUgraph*,
                                        const CUgraphNode**,
                                        const CUgraphEdgeData**,
                                        size_t*);
CUresult cuStreamBeginCapture_v2_ptsz(CUstream, CUstreamCaptureMode);
CUresult cuStreamEndCapture_ptsz(CUstream, CUgraph*);
CUresult cuStreamBeginCaptureToGraph_ptsz(
    CUstream, CUgraph, const CUgraphNode*, const CUgraphEdgeData*, size_t, CUstreamCaptureMode);
CUresult cuEventRecord_ptsz(CUevent, CUstream);
CUresult cuEventRecordWithFlags_ptsz(CUevent, CUstream, unsigned int);
CUresult cuLaunchKernel_ptsz(CUfunction,
                             unsigned,
                             unsigned,
                             unsigned,
                             unsigned,
                             unsigned,
                             unsigned,
                             unsigned,
                             CUstream,
                             void**,
                             void**);
CUresult cuEventElapsedTime_v2(float*, CUevent, CUevent);
CUresult cuGetProcAddress(const char*, void**, int, cuuint64_t);
}

namespace {

constexpr int kDriverVersion = 13000;

/// One ABI version of a driver entry point.
struct proc_entry {
  const char* name;   ///< base name, as asked for
  int since_version;  ///< the first CUDA version (1000 * major + 10 * minor) with this ABI
  void* legacy;       ///< the default / legacy-stream variant
  void* per_thread;   ///< the per-thread-default-stream variant, or null where none exists
};

template <typename Function>
void* address(Function* function) {
  return reinterpret_cast<void*>(function);
}

const std::array kEntries{
    proc_entry{"cuGetProcAddress", 11030, address(&cuGetProcAddress), nullptr},
    proc_entry{"cuGetProcAddress", 12000, address(&cuGetProcAddress_v2), nullptr},
    proc_entry{"cuInit", 2000, address(&cuInit), nullptr},
    proc_entry{"cuDriverGetVersion", 2020, address(&cuDriverGetVersion), nullptr},
    proc_entry{"cuDeviceGet", 2000, address(&cuDeviceGet), nullptr},
    proc_entry{"cuDeviceGetCount", 2000, address(&cuDeviceGetCount), nullptr},
    proc_entry{"cuDeviceGetName", 2000, address(&cuDeviceGetName), nullptr},
    proc_entry{"cuDeviceTotalMem", 3020, address(&cuDeviceTotalMem_v2), nullptr},
    proc_entry{"cuDeviceGetAttribute", 2000, address(&cuDeviceGetAttribute), nullptr},
    proc_entry{"cuDeviceCanAccessPeer", 4000, address(&cuDeviceCanAccessPeer), nullptr},
    proc_entry{"cuDevicePrimaryCtxRetain", 7000, address(&cuDevicePrimaryCtxRetain), nullptr},
    proc_entry{"cuDevicePrimaryCtxRelease", 11000, address(&cuDevicePrimaryCtxRelease_v2), nullptr},
    proc_entry{"cuDevicePrimaryCtxReset", 11000, address(&cuDevicePrimaryCtxReset_v2), nullptr},
    proc_entry{"cuDevicePrimaryCtxGetState", 7000, address(&cuDevicePrimaryCtxGetState), nullptr},
    proc_entry{"cuIpcGetMemHandle", 4010, address(&cuIpcGetMemHandle), nullptr},
    proc_entry{"cuCtxGetCurrent", 4000, address(&cuCtxGetCurrent), nullptr},
    proc_entry{"cuCtxSetCurrent", 4000, address(&cuCtxSetCurrent), nullptr},
    proc_entry{"cuCtxPushCurrent", 4000, address(&cuCtxPushCurrent_v2), nullptr},
    proc_entry{"cuCtxPopCurrent", 4000, address(&cuCtxPopCurrent_v2), nullptr},
    proc_entry{"cuCtxGetDevice", 2000, address(&cuCtxGetDevice), nullptr},
    proc_entry{"cuCtxSynchronize", 2000, address(&cuCtxSynchronize), nullptr},
    proc_entry{"cuCtxGetId", 12000, address(&cuCtxGetId), nullptr},
    proc_entry{"cuMemAlloc", 3020, address(&cuMemAlloc_v2), nullptr},
    proc_entry{"cuMemAllocPitch", 3020, address(&cuMemAllocPitch_v2), nullptr},
    proc_entry{"cuMemFree", 3020, address(&cuMemFree_v2), nullptr},
    proc_entry{"cuMemAllocManaged", 6000, address(&cuMemAllocManaged), nullptr},
    proc_entry{"cuMemGetInfo", 3020, address(&cuMemGetInfo_v2), nullptr},
    proc_entry{"cuMemHostAlloc", 2020, address(&cuMemHostAlloc), nullptr},
    proc_entry{"cuMemAllocHost", 3020, address(&cuMemAllocHost_v2), nullptr},
    proc_entry{"cuMemFreeHost", 2000, address(&cuMemFreeHost), nullptr},
    proc_entry{"cuMemGetAddressRange", 3020, address(&cuMemGetAddressRange_v2), nullptr},
    proc_entry{"cuPointerGetAttribute", 4000, address(&cuPointerGetAttribute), nullptr},
    proc_entry{"cuPointerGetAttributes", 7000, address(&cuPointerGetAttributes), nullptr},
    proc_entry{"cuMemcpy", 4000, address(&cuMemcpy), address(&cuMemcpy_ptds)},
    proc_entry{"cuMemcpyAsync", 4000, address(&cuMemcpyAsync), address(&cuMemcpyAsync_ptsz)},
    proc_entry{"cuMemcpyHtoD", 3020, address(&cuMemcpyHtoD_v2), nullptr},
    proc_entry{"cuMemcpyDtoH", 3020, address(&cuMemcpyDtoH_v2), nullptr},
    proc_entry{"cuMemcpyDtoD", 3020, address(&cuMemcpyDtoD_v2), nullptr},
    proc_entry{"cuMemsetD8", 3020, address(&cuMemsetD8_v2), nullptr},
    proc_entry{"cuMemsetD32", 3020, address(&cuMemsetD32_v2), nullptr},
    proc_entry{"cuMemsetD8Async", 3020, address(&cuMemsetD8Async), address(&cuMemsetD8Async_ptsz)},
    proc_entry{
        "cuMemsetD32Async", 3020, address(&cuMemsetD32Async), address(&cuMemsetD32Async_ptsz)},
    proc_entry{"cuMemPrefetchAsync",
               12020,
               address(&cuMemPrefetchAsync_v2),
               address(&cuMemPrefetchAsync_v2_ptsz)},
    proc_entry{"cuMemAdvise", 12020, address(&cuMemAdvise_v2), nullptr},
    proc_entry{
        "cuMemGetAllocationGranularity", 10020, address(&cuMemGetAllocationGranularity), nullptr},
    proc_entry{"cuMemAddressReserve", 10020, address(&cuMemAddressReserve), nullptr},
    proc_entry{"cuMemAddressFree", 10020, address(&cuMemAddressFree), nullptr},
    proc_entry{"cuMemCreate", 10020, address(&cuMemCreate), nullptr},
    proc_entry{"cuMemRelease", 10020, address(&cuMemRelease), nullptr},
    proc_entry{"cuMemMap", 10020, address(&cuMemMap), nullptr},
    proc_entry{"cuMemUnmap", 10020, address(&cuMemUnmap), nullptr},
    proc_entry{"cuMemSetAccess", 10020, address(&cuMemSetAccess), nullptr},
    proc_entry{"cuMemGetAccess", 10020, address(&cuMemGetAccess), nullptr},
    proc_entry{"cuCtxEnablePeerAccess", 4000, address(&cuCtxEnablePeerAccess), nullptr},
    proc_entry{"cuCtxDisablePeerAccess", 4000, address(&cuCtxDisablePeerAccess), nullptr},
    proc_entry{"cuMemAllocAsync", 11020, address(&cuMemAllocAsync), address(&cuMemAllocAsync_ptsz)},
    proc_entry{"cuMemAllocFromPoolAsync",
               11020,
               address(&cuMemAllocFromPoolAsync),
               address(&cuMemAllocFromPoolAsync_ptsz)},
    proc_entry{"cuMemFreeAsync", 11020, address(&cuMemFreeAsync), address(&cuMemFreeAsync_ptsz)},
    proc_entry{"cuMemPoolCreate", 11020, address(&cuMemPoolCreate), nullptr},
    proc_entry{"cuMemPoolDestroy", 11020, address(&cuMemPoolDestroy), nullptr},
    proc_entry{"cuMemPoolTrimTo", 11020, address(&cuMemPoolTrimTo), nullptr},
    proc_entry{"cuMemPoolSetAttribute", 11020, address(&cuMemPoolSetAttribute), nullptr},
    proc_entry{"cuMemPoolSetAccess", 11020, address(&cuMemPoolSetAccess), nullptr},
    proc_entry{"cuMemPoolGetAttribute", 11020, address(&cuMemPoolGetAttribute), nullptr},
    proc_entry{"cuDeviceGetDefaultMemPool", 11020, address(&cuDeviceGetDefaultMemPool), nullptr},
    proc_entry{"cuMemGetDefaultMemPool", 13000, address(&cuMemGetDefaultMemPool), nullptr},
    proc_entry{"cuDeviceGetMemPool", 11020, address(&cuDeviceGetMemPool), nullptr},
    proc_entry{"cuDeviceSetMemPool", 11020, address(&cuDeviceSetMemPool), nullptr},
    proc_entry{"cuStreamCreate", 2000, address(&cuStreamCreate), nullptr},
    proc_entry{"cuStreamCreateWithPriority", 5050, address(&cuStreamCreateWithPriority), nullptr},
    proc_entry{"cuStreamDestroy", 4000, address(&cuStreamDestroy_v2), nullptr},
    proc_entry{"cuStreamSynchronize",
               2000,
               address(&cuStreamSynchronize),
               address(&cuStreamSynchronize_ptsz)},
    proc_entry{"cuStreamQuery", 2000, address(&cuStreamQuery), address(&cuStreamQuery_ptsz)},
    proc_entry{
        "cuStreamWaitEvent", 3020, address(&cuStreamWaitEvent), address(&cuStreamWaitEvent_ptsz)},
    proc_entry{
        "cuStreamGetFlags", 5050, address(&cuStreamGetFlags), address(&cuStreamGetFlags_ptsz)},
    proc_entry{"cuStreamGetCtx", 9020, address(&cuStreamGetCtx), address(&cuStreamGetCtx_ptsz)},
    proc_entry{
        "cuStreamGetDevice", 12080, address(&cuStreamGetDevice), address(&cuStreamGetDevice_ptsz)},
    proc_entry{"cuStreamIsCapturing",
               10000,
               address(&cuStreamIsCapturing),
               address(&cuStreamIsCapturing_ptsz)},
    proc_entry{"cuStreamGetCaptureInfo",
               12030,
               address(&cuStreamGetCaptureInfo_v3),
               address(&cuStreamGetCaptureInfo_v3_ptsz)},
    proc_entry{"cuStreamBeginCapture",
               10010,
               address(&cuStreamBeginCapture_v2),
               address(&cuStreamBeginCapture_v2_ptsz)},
    proc_entry{"cuStreamBeginCaptureToGraph",
               12030,
               address(&cuStreamBeginCaptureToGraph),
               address(&cuStreamBeginCaptureToGraph_ptsz)},
    proc_entry{"cuStreamEndCapture",
               10000,
               address(&cuStreamEndCapture),
               address(&cuStreamEndCapture_ptsz)},
    proc_entry{"cuGraphCreate", 10000, address(&cuGraphCreate), nullptr},
    proc_entry{"cuGraphDestroy", 10000, address(&cuGraphDestroy), nullptr},
    proc_entry{"cuGraphGetNodes", 10000, address(&cuGraphGetNodes), nullptr},
    proc_entry{"cuGraphNodeGetType", 10000, address(&cuGraphNodeGetType), nullptr},
    proc_entry{"cuThreadExchangeStreamCaptureMode",
               10010,
               address(&cuThreadExchangeStreamCaptureMode),
               nullptr},
    proc_entry{"cuEventCreate", 2000, address(&cuEventCreate), nullptr},
    proc_entry{"cuEventDestroy", 4000, address(&cuEventDestroy_v2), nullptr},
    proc_entry{"cuEventRecord", 2000, address(&cuEventRecord), address(&cuEventRecord_ptsz)},
    proc_entry{"cuEventRecordWithFlags",
               11010,
               address(&cuEventRecordWithFlags),
               address(&cuEventRecordWithFlags_ptsz)},
    proc_entry{"cuEventQuery", 2000, address(&cuEventQuery), nullptr},
    proc_entry{"cuEventSynchronize", 2000, address(&cuEventSynchronize), nullptr},
    proc_entry{"cuEventElapsedTime", 2000, address(&cuEventElapsedTime_v2), nullptr},
    proc_entry{"cuLaunchKernel", 4000, address(&cuLaunchKernel), address(&cuLaunchKernel_ptsz)},
    proc_entry{"cuGetErrorName", 6000, address(&cuGetErrorName), nullptr},
    proc_entry{"cuGetErrorString", 6000, address(&cuGetErrorString), nullptr},
};

/// Whether GPUMEM_SIM_MISSING_ENTRY_POINTS (comma-separated names) hides `symbol`, as an older
/// driver that lacks it would.
bool hidden(const char* symbol) {
  static const std::string names = [] {
    const char* value = std::getenv("GPUMEM_SIM_MISSING_ENTRY_POINTS");
    return "," + std::string{value != nullptr ? value : ""} + ",";
  }();
  return names.size() > 2 && names.find("," + std::string{symbol} + ",") != std::string::npos;
}

CUresult get_proc_address_v2(const char* symbol,
                             void** function,
                             int cuda_version,
                             cuuint64_t flags,
                             CUdriverProcAddressQueryResult* status) {
  if (symbol == nullptr || function == nullptr) return CUDA_ERROR_INVALID_VALUE;
  constexpr cuuint64_t kKnownFlags =
      CU_GET_PROC_ADDRESS_LEGACY_STREAM | CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
  if ((flags & ~kKnownFlags) != 0) return CUDA_ERROR_INVALID_VALUE;
  const proc_entry* best = nullptr;
  bool name_known = false;
  for (const proc_entry& entry : kEntries) {
    if (std::strcmp(entry.name, symbol) != 0 || hidden(symbol)) continue;
    name_known = true;
    if (entry.since_version <= cuda_version &&
        (best == nullptr || entry.since_version > best->since_version)) {
      best = &entry;
    }
  }
  *function = nullptr;
  // As the driver does: a version newer than the driver is an error; a symbol that is unknown
  // or too new for the version asked is not, it only yields a null pointer and its status.
  if (cuda_version > kDriverVersion) return CUDA_ERROR_INVALID_VALUE;
  if (best == nullptr) {
    if (status != nullptr) {
      *status = name_known ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT
                           : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    }
    return CUDA_SUCCESS;
  }
  const bool per_thread = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;
  *function = per_thread && best->per_thread != nullptr ? best->per_thread : best->legacy;
  if (status != nullptr) *status = CU_GET_PROC_ADDRESS_SUCCESS;
  return CUDA_SUCCESS;
}

}  // namespace

GPUMEM_SIM_EXPORT CUresult cuGetProcAddress_v2(const char* symbol,
                                               void** function,
                                               int cuda_version,
                                               cuuint64_t flags,
                                               CUdriverProcAddressQueryResult* status) {
  gpumem::sim::simulated_machine::instance().count_call(__func__);
  return get_proc_address_v2(symbol, function, cuda_version, flags, status);
}

GPUMEM_SIM_EXPORT CUresult cuGetProcAddress(const char* symbol,
                                            void** function,
                                            int cuda_version,
                                            cuuint64_t flags) {
  gpumem::sim::simulated_machine::instance().count_call(__func__);
  return get_proc_address_v2(symbol, function, cuda_version, flags, nullptr);
}
