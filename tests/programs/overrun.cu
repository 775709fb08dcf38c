// A kernel writes one element past the end of a block, the bug compute-sanitizer's memcheck
// finds in plain CUDA ("Invalid __global__ write"). Under the shim, or with the library's pool
// (--library pool|pool_expandable), the block is part of a larger allocation; the pool
// registers its blocks with the sanitizer (NVTX's memory API) so memcheck finds it there too.
//
//   overrun [--library pool|pool_expandable] [BYTES]   (default 1000 bytes: 250 ints)
//
// Prints "overrun: wrote element N of a block of N" and exits 0 (the write itself does not
// fail without a tool: the memory after the block belongs to the pool).

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#ifdef GPUMEM_OVERRUN_LIBRARY
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/expandable_memory_resource.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#endif

namespace {

__global__ void write_past_end(int* block, int elements) {
  if (threadIdx.x == 0 && blockIdx.x == 0) block[elements] = 42;  // one past the end
}

int fail(const char* what, cudaError_t status) {
  std::fprintf(stderr, "overrun: %s: %s\n", what, cudaGetErrorString(status));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string library;
  std::size_t bytes = 1000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--library") == 0 && i + 1 < argc) {
      library = argv[++i];
    } else {
      bytes = std::strtoull(argv[i], nullptr, 10);
    }
  }
  if (cudaError_t status = cudaFree(nullptr); status != cudaSuccess)
    return fail("initializing CUDA", status);
  const int elements = static_cast<int>(bytes / sizeof(int));
  int* block = nullptr;
#ifdef GPUMEM_OVERRUN_LIBRARY
  gpumem::mr::cuda_memory_resource cuda;
  std::unique_ptr<gpumem::mr::expandable_memory_resource> expandable;
  std::unique_ptr<gpumem::mr::device_memory_resource> pool;
  if (library == "pool") {
    pool = std::make_unique<gpumem::mr::pool_memory_resource<gpumem::mr::cuda_memory_resource>>(
        &cuda, std::size_t{64} << 20);
  } else if (library == "pool_expandable") {
    expandable = std::make_unique<gpumem::mr::expandable_memory_resource>();
    pool =
        std::make_unique<gpumem::mr::pool_memory_resource<gpumem::mr::expandable_memory_resource>>(
            expandable.get(), std::size_t{2} << 20);
  } else {
    std::fprintf(stderr, "overrun: --library takes pool or pool_expandable\n");
    return 2;
  }
  block = static_cast<int*>(pool->allocate(bytes));
#else
  if (!library.empty()) {
    std::fprintf(stderr, "overrun: this build has no library (use overrun_library)\n");
    return 2;
  }
  if (cudaError_t status = cudaMalloc(&block, bytes); status != cudaSuccess)
    return fail("cudaMalloc", status);
#endif
  write_past_end<<<1, 32>>>(block, elements);
  const cudaError_t status = cudaDeviceSynchronize();
  std::printf("overrun: wrote element %d of a block of %d (%s)\n",
              elements,
              elements,
              cudaGetErrorString(status));
#ifdef GPUMEM_OVERRUN_LIBRARY
  pool->deallocate(block, bytes);
#else
  (void)cudaFree(block);
#endif
  return 0;
}
