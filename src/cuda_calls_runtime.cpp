// The library's CUDA operations: the CUDA runtime (see gpumem/detail/cuda_calls.hpp).

#include "gpumem/detail/cuda_calls.hpp"

namespace gpumem::detail::cuda_calls {

cudaError_t event_create(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDisableTiming);
}
cudaError_t event_record(cudaEvent_t event, cudaStream_t stream) {
  return cudaEventRecord(event, stream);
}
cudaError_t event_destroy(cudaEvent_t event) {
  return cudaEventDestroy(event);
}
cudaError_t event_synchronize(cudaEvent_t event) {
  return cudaEventSynchronize(event);
}
cudaError_t stream_wait_event(cudaStream_t stream, cudaEvent_t event) {
  return cudaStreamWaitEvent(stream, event, 0);
}
cudaError_t stream_synchronize(cudaStream_t stream) {
  return cudaStreamSynchronize(stream);
}
cudaError_t device_synchronize() {
  return cudaDeviceSynchronize();
}
cudaError_t get_device(int* device) {
  return cudaGetDevice(device);
}
cudaError_t set_device(int device) {
  return cudaSetDevice(device);
}
cudaError_t device_count(int* count) {
  return cudaGetDeviceCount(count);
}
cudaError_t memory_info(std::size_t* free_bytes, std::size_t* total_bytes) {
  return cudaMemGetInfo(free_bytes, total_bytes);
}
cudaError_t prefetch(const void* pointer, std::size_t bytes, int device, cudaStream_t stream) {
  cudaMemLocation location{};
  location.type = cudaMemLocationTypeDevice;
  location.id = device;
  return cudaMemPrefetchAsync(pointer, bytes, location, 0, stream);
}
const char* error_name(cudaError_t error) {
  return cudaGetErrorName(error);
}
const char* error_string(cudaError_t error) {
  return cudaGetErrorString(error);
}
void clear_last_error() {
  (void)cudaGetLastError();
}

}  // namespace gpumem::detail::cuda_calls
