#include <gpumem/cuda_device.hpp>

#include <cstdio>

int main() {
  std::printf("gpumem consumer: devices: %d\n", gpumem::get_num_cuda_devices());
  return 0;
}
