// The README's demo program: allocates and frees device memory in a loop, as many programs do
// (sizes from 256 B to 1 MiB, a memset on each block), and prints the time per
// cudaMalloc+cudaFree pair. Built twice: with nvcc's default static runtime and with the shared
// one (which also runs on gpumem's CUDA simulator).
//   alloc_loop [PAIRS]

#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);  // the result line comes before the shim's exit report
  const int pairs = argc > 1 ? std::atoi(argv[1]) : 20000;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("alloc_loop: no CUDA device\n");
    return 1;
  }
  cudaFree(nullptr);  // create the context before timing
  const auto start = std::chrono::steady_clock::now();
  unsigned state = 12345;
  for (int i = 0; i < pairs; ++i) {
    state = state * 1103515245u + 12345u;
    const size_t bytes = static_cast<size_t>(256) << ((state >> 16) % 13);  // 256 B .. 1 MiB
    void* block = nullptr;
    if (cudaMalloc(&block, bytes) != cudaSuccess || cudaMemset(block, 0, 256) != cudaSuccess ||
        cudaFree(block) != cudaSuccess) {
      std::printf(
          "alloc_loop: CUDA failed at pair %d: %s\n", i, cudaGetErrorString(cudaGetLastError()));
      return 1;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("alloc_loop: %d cudaMalloc+cudaMemset+cudaFree in %.3f s: %.2f us each\n",
              pairs,
              seconds,
              seconds * 1e6 / pairs);
  return 0;
}
