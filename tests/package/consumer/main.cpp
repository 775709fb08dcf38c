#include <cstdio>
#include <gpumem/cuda_device.hpp>
#include <gpumem/device_buffer.hpp>

int main() {
  std::printf("gpumem consumer: devices: %d\n", gpumem::get_num_cuda_devices());
  gpumem::device_buffer buffer{1024, gpumem::cuda_stream_view{}};
  std::printf("gpumem consumer: a device_buffer of %zu bytes\n", buffer.size());
  return 0;
}
