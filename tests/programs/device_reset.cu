// Allocates, resets the device, allocates again and checks that the new blocks hold what is
// written to them: under the shim the stack from before the reset must not be used again (its
// slabs went with the context). Built with each CUDA runtime; prints "device_reset: ok".
//   device_reset [RESETS]   (default 1: an allocation, then a reset, RESETS times)

#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

bool check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return true;
  std::printf("device_reset: FAILED: %s: %s\n", what, cudaGetErrorString(status));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const int resets = argc > 1 ? std::atoi(argv[1]) : 1;
  for (int reset = 0; reset < resets; ++reset) {
    void* before = nullptr;
    if (!check(cudaMalloc(&before, 4096), "cudaMalloc before the reset")) return 1;
    if (!check(cudaDeviceReset(), "cudaDeviceReset")) return 1;
  }
  std::vector<void*> blocks(3);
  for (void*& block : blocks) {
    if (!check(cudaMalloc(&block, 4096), "cudaMalloc after the reset")) return 1;
    std::vector<int> data(1024, 9);
    std::vector<int> back(1024);
    if (!check(cudaMemcpy(block, data.data(), 4096, cudaMemcpyHostToDevice),
               "copy to the new block") ||
        !check(cudaMemcpy(back.data(), block, 4096, cudaMemcpyDeviceToHost),
               "copy from the new block")) {
      return 1;
    }
    if (back != data) {
      std::printf("device_reset: FAILED: a new block does not hold what was written\n");
      return 1;
    }
  }
  for (void* block : blocks) {
    if (!check(cudaFree(block), "cudaFree after the reset")) return 1;
  }
  std::printf("device_reset: ok\n");
  return 0;
}
