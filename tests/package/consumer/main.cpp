#include <cstdio>
#include <gpumem/cuda_device.hpp>

int main() {
  std::printf("gpumem consumer: devices: %d\n", gpumem::get_num_cuda_devices());
  return 0;
}
