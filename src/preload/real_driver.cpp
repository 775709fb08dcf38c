#include "preload/real_driver.hpp"

#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <cstdio>
#include <string>

#include "preload/real_symbols.hpp"

namespace gpumem::preload {

const driver::driver_library& real_driver() {
  static const driver::driver_library library = [] {
    driver::driver_library loaded = driver::load_driver_library(real_dlsym());
    if (!loaded.loaded && !loaded.missing.empty()) {
      // The shim cannot work: say once, on stderr (its log may not exist yet), and why.
      std::string names;
      for (const std::string& name : loaded.missing)
        names += (names.empty() ? "" : ", ") + name;
      std::fprintf(stderr,
                   "gpumem: the CUDA driver lacks %s: the shim is off, every call goes to CUDA "
                   "unchanged\n",
                   names.c_str());
    }
    return loaded;
  }();
  return library;
}

get_proc_address_v1 real_get_proc_address_v1() {
  static const get_proc_address_v1 function = [] {
    void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    return handle == nullptr
               ? nullptr
               : reinterpret_cast<get_proc_address_v1>(real_dlsym()(handle, "cuGetProcAddress"));
  }();
  return function;
}

cudaError_t to_runtime_error(CUresult result) {
  switch (result) {
    case CUDA_SUCCESS:
      return cudaSuccess;
    case CUDA_ERROR_INVALID_VALUE:
      return cudaErrorInvalidValue;
    case CUDA_ERROR_OUT_OF_MEMORY:
      return cudaErrorMemoryAllocation;
    case CUDA_ERROR_NOT_INITIALIZED:
      return cudaErrorInitializationError;
    case CUDA_ERROR_DEINITIALIZED:
      return cudaErrorCudartUnloading;
    case CUDA_ERROR_NO_DEVICE:
      return cudaErrorNoDevice;
    case CUDA_ERROR_INVALID_DEVICE:
      return cudaErrorInvalidDevice;
    case CUDA_ERROR_INVALID_CONTEXT:
      return cudaErrorDeviceUninitialized;
    case CUDA_ERROR_INVALID_HANDLE:
      return cudaErrorInvalidResourceHandle;
    case CUDA_ERROR_NOT_READY:
      return cudaErrorNotReady;
    case CUDA_ERROR_NOT_SUPPORTED:
      return cudaErrorNotSupported;
    case CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED:
      return cudaErrorStreamCaptureUnsupported;
    case CUDA_ERROR_STREAM_CAPTURE_INVALIDATED:
      return cudaErrorStreamCaptureInvalidated;
    default:
      return cudaErrorUnknown;
  }
}

}  // namespace gpumem::preload
