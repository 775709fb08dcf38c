#include "runtime_errors.hpp"

#include <algorithm>
#include <array>

namespace gpumem::sim {
namespace {

struct runtime_error_description {
  cudaError_t code;
  CUresult driver_code;  ///< the driver result that maps to this code (CUDA_ERROR_UNKNOWN: none)
  const char* name;
  const char* text;
};

// Names and texts as cudaGetErrorName / cudaGetErrorString give them (CUDA 13.0).
constexpr std::array kDescriptions{
    runtime_error_description{cudaSuccess, CUDA_SUCCESS, "cudaSuccess", "no error"},
    runtime_error_description{cudaErrorInvalidValue,
                              CUDA_ERROR_INVALID_VALUE,
                              "cudaErrorInvalidValue",
                              "invalid argument"},
    runtime_error_description{cudaErrorMemoryAllocation,
                              CUDA_ERROR_OUT_OF_MEMORY,
                              "cudaErrorMemoryAllocation",
                              "out of memory"},
    runtime_error_description{cudaErrorInitializationError,
                              CUDA_ERROR_NOT_INITIALIZED,
                              "cudaErrorInitializationError",
                              "initialization error"},
    runtime_error_description{cudaErrorCudartUnloading,
                              CUDA_ERROR_DEINITIALIZED,
                              "cudaErrorCudartUnloading",
                              "driver shutting down"},
    runtime_error_description{cudaErrorInvalidMemcpyDirection,
                              CUDA_ERROR_UNKNOWN,
                              "cudaErrorInvalidMemcpyDirection",
                              "invalid copy direction for memcpy"},
    runtime_error_description{cudaErrorInsufficientDriver,
                              CUDA_ERROR_UNKNOWN,
                              "cudaErrorInsufficientDriver",
                              "CUDA driver version is insufficient for CUDA runtime version"},
    runtime_error_description{cudaErrorNoDevice,
                              CUDA_ERROR_NO_DEVICE,
                              "cudaErrorNoDevice",
                              "no CUDA-capable device is detected"},
    runtime_error_description{cudaErrorInvalidDevice,
                              CUDA_ERROR_INVALID_DEVICE,
                              "cudaErrorInvalidDevice",
                              "invalid device ordinal"},
    runtime_error_description{cudaErrorDeviceUninitialized,
                              CUDA_ERROR_INVALID_CONTEXT,
                              "cudaErrorDeviceUninitialized",
                              "invalid device context"},
    runtime_error_description{cudaErrorInvalidResourceHandle,
                              CUDA_ERROR_INVALID_HANDLE,
                              "cudaErrorInvalidResourceHandle",
                              "invalid resource handle"},
    runtime_error_description{cudaErrorIllegalState,
                              CUDA_ERROR_ILLEGAL_STATE,
                              "cudaErrorIllegalState",
                              "the operation cannot be performed in the present state"},
    runtime_error_description{cudaErrorSymbolNotFound,
                              CUDA_ERROR_NOT_FOUND,
                              "cudaErrorSymbolNotFound",
                              "named symbol not found"},
    runtime_error_description{
        cudaErrorNotReady, CUDA_ERROR_NOT_READY, "cudaErrorNotReady", "device not ready"},
    runtime_error_description{cudaErrorIllegalAddress,
                              CUDA_ERROR_ILLEGAL_ADDRESS,
                              "cudaErrorIllegalAddress",
                              "an illegal memory access was encountered"},
    runtime_error_description{cudaErrorPeerAccessAlreadyEnabled,
                              CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED,
                              "cudaErrorPeerAccessAlreadyEnabled",
                              "peer access is already enabled"},
    runtime_error_description{cudaErrorNotSupported,
                              CUDA_ERROR_NOT_SUPPORTED,
                              "cudaErrorNotSupported",
                              "operation not supported"},
    runtime_error_description{cudaErrorStreamCaptureUnsupported,
                              CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
                              "cudaErrorStreamCaptureUnsupported",
                              "operation not permitted when stream is capturing"},
    runtime_error_description{cudaErrorStreamCaptureInvalidated,
                              CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
                              "cudaErrorStreamCaptureInvalidated",
                              "operation failed due to a previous error during capture"},
    runtime_error_description{
        cudaErrorUnknown, CUDA_ERROR_UNKNOWN, "cudaErrorUnknown", "unknown error"},
};

const runtime_error_description* find(cudaError_t error) {
  const auto* found = std::find_if(
      kDescriptions.begin(), kDescriptions.end(), [error](const runtime_error_description& d) {
        return d.code == error;
      });
  return found == kDescriptions.end() ? nullptr : found;
}

}  // namespace

cudaError_t to_runtime_error(CUresult result) {
  if (result == CUDA_ERROR_UNKNOWN) return cudaErrorUnknown;
  const auto* found = std::find_if(
      kDescriptions.begin(), kDescriptions.end(), [result](const runtime_error_description& d) {
        return d.driver_code == result;
      });
  return found == kDescriptions.end() ? cudaErrorUnknown : found->code;
}

const char* runtime_error_name(cudaError_t error) {
  const auto* found = find(error);
  return found != nullptr ? found->name : "unrecognized error code";
}

const char* runtime_error_text(cudaError_t error) {
  const auto* found = find(error);
  return found != nullptr ? found->text : "unrecognized error code";
}

}  // namespace gpumem::sim
