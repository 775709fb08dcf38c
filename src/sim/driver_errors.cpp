#include "driver_errors.hpp"

#include <algorithm>
#include <array>

namespace gpumem::sim {
namespace {

// Names and texts as cuGetErrorName / cuGetErrorString give them (CUDA 13.0).
constexpr std::array kDescriptions{
    driver_error_description{CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    driver_error_description{
        CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    driver_error_description{CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    driver_error_description{
        CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    driver_error_description{
        CUDA_ERROR_DEINITIALIZED, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
    driver_error_description{
        CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    driver_error_description{
        CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    driver_error_description{
        CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    driver_error_description{
        CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    driver_error_description{
        CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    driver_error_description{CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready"},
    driver_error_description{CUDA_ERROR_ILLEGAL_ADDRESS,
                             "CUDA_ERROR_ILLEGAL_ADDRESS",
                             "an illegal memory access was encountered"},
    driver_error_description{
        CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    driver_error_description{CUDA_ERROR_ILLEGAL_STATE,
                             "CUDA_ERROR_ILLEGAL_STATE",
                             "the operation cannot be performed in the present state"},
    driver_error_description{CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
                             "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
                             "operation not permitted when stream is capturing"},
    driver_error_description{CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
                             "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
                             "operation failed due to a previous error during capture"},
    driver_error_description{CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

}  // namespace

const driver_error_description* describe_driver_error(CUresult code) {
  const auto* found = std::find_if(
      kDescriptions.begin(), kDescriptions.end(), [code](const driver_error_description& d) {
        return d.code == code;
      });
  return found == kDescriptions.end() ? nullptr : found;
}

}  // namespace gpumem::sim
