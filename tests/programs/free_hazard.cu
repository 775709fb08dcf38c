// The hazard a pool must not open: a kernel on a non-blocking stream still reads a buffer
// when the host calls cudaFree on it (real cudaFree waits for that kernel). If a pool handed
// the buffer to the next cudaMalloc at once, the new owner's writes (on another non-blocking
// stream) would corrupt what the kernel reads. The kernel sums the buffer slowly; the result
// must equal the sum of what was written before the free. Exits 0 when it does.

#include <cuda_runtime.h>

#include <cstdio>
#include <vector>

namespace {

__global__ void slow_sum(const int* values, int count, unsigned long long* sum, long long spin) {
  unsigned long long total = 0;
  for (int i = 0; i < count; ++i) {
    const long long start = clock64();
    while (clock64() - start < spin) {
    }
    total += static_cast<unsigned long long>(values[i]);
  }
  *sum = total;
}

__global__ void overwrite(int* values, int count) {
  for (int i = threadIdx.x; i < count; i += blockDim.x)
    values[i] = 1000000;
}

}  // namespace

int main() {
  constexpr int kCount = 2048;
  cudaStream_t reader = nullptr;
  cudaStream_t writer = nullptr;
  if (cudaStreamCreateWithFlags(&reader, cudaStreamNonBlocking) != cudaSuccess ||
      cudaStreamCreateWithFlags(&writer, cudaStreamNonBlocking) != cudaSuccess) {
    // ctest runs it through gpu_or_skip, which skips where there is no GPU: here there is one,
    // so this is a failure (of the shim, or of CUDA), not a reason to skip.
    std::printf("free_hazard: FAILED: cannot create two non-blocking streams\n");
    return 1;
  }
  int failures = 0;
  for (int round = 0; round < 5; ++round) {
    std::vector<int> host(kCount, 1);
    int* values = nullptr;
    unsigned long long* sum = nullptr;
    cudaMalloc(&values, kCount * sizeof(int));
    cudaMalloc(&sum, sizeof(unsigned long long));
    cudaMemcpy(values, host.data(), kCount * sizeof(int), cudaMemcpyHostToDevice);
    slow_sum<<<1, 1, 0, reader>>>(values, kCount, sum, 20000);  // about 20 ms of reading
    unsigned long long* kept_sum = sum;
    cudaFree(values);  // real CUDA: waits for slow_sum
    int* reused = nullptr;
    cudaMalloc(&reused, kCount * sizeof(int));
    overwrite<<<1, 256, 0, writer>>>(reused, kCount);
    cudaDeviceSynchronize();
    unsigned long long result = 0;
    cudaMemcpy(&result, kept_sum, sizeof(result), cudaMemcpyDeviceToHost);
    if (result != kCount) {
      std::printf(
          "free_hazard: round %d: the reader saw %llu, not %d: freed memory was reused while in "
          "use\n",
          round,
          result,
          kCount);
      ++failures;
    }
    cudaFree(reused);
    cudaFree(kept_sum);
  }
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    std::printf("free_hazard: CUDA error %s\n", cudaGetErrorString(status));
    return 1;
  }
  std::printf("free_hazard: %s\n", failures == 0 ? "no corruption in 5 rounds" : "CORRUPTION");
  return failures == 0 ? 0 : 1;
}
