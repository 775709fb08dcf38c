// The preload's CUDA operations for the resources it runs (see gpumem/detail/cuda_calls.hpp):
// the real driver, never the runtime, never an interposed symbol.

#include "driver/driver_for_resources.hpp"
#include "gpumem/detail/cuda_calls.hpp"
#include "preload/real_driver.hpp"

namespace gpumem::detail::cuda_calls {
namespace {

const driver::driver_entry_points& cu() {
  return preload::real_driver().legacy;
}
cudaError_t result(CUresult status) {
  return preload::to_runtime_error(status);
}

}  // namespace

cudaError_t event_create(cudaEvent_t* event) {
  return result(cu().event_create(event, CU_EVENT_DISABLE_TIMING));
}
cudaError_t event_record(cudaEvent_t event, cudaStream_t stream) {
  return result(cu().event_record_with_flags(event, stream, 0));
}
cudaError_t event_destroy(cudaEvent_t event) {
  return result(cu().event_destroy(event));
}
cudaError_t event_synchronize(cudaEvent_t event) {
  return result(cu().event_synchronize(event));
}
cudaError_t stream_wait_event(cudaStream_t stream, cudaEvent_t event) {
  return result(cu().stream_wait_event(stream, event, 0));
}
cudaError_t stream_synchronize(cudaStream_t stream) {
  return result(cu().stream_synchronize(stream));
}
cudaError_t device_synchronize() {
  return result(cu().ctx_synchronize());
}
cudaError_t get_device(int* device) {
  CUdevice current = 0;
  const CUresult status = cu().ctx_get_device(&current);
  if (status == CUDA_SUCCESS) *device = current;
  return result(status);
}
cudaError_t set_device(int device) {
  CUcontext context = nullptr;
  if (const CUresult status = cu().primary_ctx_retain(&context, device); status != CUDA_SUCCESS)
    return result(status);
  return result(cu().ctx_set_current(context));
}
cudaError_t device_count(int* count) {
  return result(cu().device_get_count(count));
}
cudaError_t memory_info(std::size_t* free_bytes, std::size_t* total_bytes) {
  return result(cu().mem_get_info(free_bytes, total_bytes));
}
cudaError_t prefetch(const void* pointer, std::size_t bytes, int device, cudaStream_t stream) {
  if (cu().mem_prefetch_async == nullptr) return cudaErrorNotSupported;
  CUmemLocation location{};
  location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  location.id = device;
  return result(
      cu().mem_prefetch_async(reinterpret_cast<CUdeviceptr>(pointer), bytes, location, 0, stream));
}
const char* error_name(cudaError_t error) {
  // Most runtime codes equal the driver's; the names differ in spelling but not in meaning.
  const char* name = nullptr;
  if (cu().get_error_name != nullptr &&
      cu().get_error_name(static_cast<CUresult>(error), &name) == CUDA_SUCCESS) {
    return name;
  }
  return "unknown CUDA error";
}
const char* error_string(cudaError_t error) {
  const char* text = nullptr;
  if (cu().get_error_string != nullptr &&
      cu().get_error_string(static_cast<CUresult>(error), &text) == CUDA_SUCCESS) {
    return text;
  }
  return "";
}
void clear_last_error() {}

}  // namespace gpumem::detail::cuda_calls

namespace gpumem::detail {

const driver::driver_entry_points* driver_for_resources() noexcept {
  return preload::real_driver().loaded ? &preload::real_driver().legacy : nullptr;
}

}  // namespace gpumem::detail
