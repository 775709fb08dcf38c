// A small CUDA program as users write them, built by nvcc with the shared runtime
// (-cudart=shared). ctest runs it unchanged on the simulator (allocation, copies, streams;
// no kernel) and, with --launch-kernel, on a GPU, where it also runs a kernel and checks
// what it wrote. It prints what it did and exits non-zero on any wrong result.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

__global__ void add_one(int* values, int count) {
  const int index = blockIdx.x * blockDim.x + threadIdx.x;
  if (index < count) values[index] += 1;
}

bool check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr,
                 "runtime_smoke: %s failed: %s (%s)\n",
                 what,
                 cudaGetErrorName(status),
                 cudaGetErrorString(status));
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool launch_kernel = argc > 1 && std::strcmp(argv[1], "--launch-kernel") == 0;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("SKIPPED: runtime_smoke needs a CUDA device, and there is none here\n");
    return 77;
  }
  cudaDeviceProp properties{};
  if (!check(cudaGetDeviceProperties(&properties, 0), "cudaGetDeviceProperties")) return 1;
  std::printf("runtime_smoke: %d device(s), device 0 is \"%s\" with %zu MiB\n",
              devices,
              properties.name,
              properties.totalGlobalMem >> 20);

  constexpr int kCount = 1 << 16;
  std::vector<int> host(kCount);
  for (int i = 0; i < kCount; ++i)
    host[i] = i;
  int* device = nullptr;
  if (!check(cudaMalloc(&device, kCount * sizeof(int)), "cudaMalloc")) return 1;
  if (reinterpret_cast<std::uintptr_t>(device) % 256 != 0) {
    std::fprintf(stderr,
                 "runtime_smoke: cudaMalloc returned %p, not 256-byte aligned\n",
                 static_cast<void*>(device));
    return 1;
  }
  if (!check(cudaMemcpy(device, host.data(), kCount * sizeof(int), cudaMemcpyHostToDevice),
             "cudaMemcpy to device")) {
    return 1;
  }
  if (launch_kernel) {
    add_one<<<(kCount + 255) / 256, 256>>>(device, kCount);
    if (!check(cudaGetLastError(), "kernel launch") ||
        !check(cudaDeviceSynchronize(), "cudaDeviceSynchronize")) {
      return 1;
    }
  }
  std::vector<int> result(kCount);
  if (!check(cudaMemcpy(result.data(), device, kCount * sizeof(int), cudaMemcpyDeviceToHost),
             "cudaMemcpy to host")) {
    return 1;
  }
  const int expected_offset = launch_kernel ? 1 : 0;
  for (int i = 0; i < kCount; ++i) {
    if (result[i] != i + expected_offset) {
      std::fprintf(stderr,
                   "runtime_smoke: element %d is %d, expected %d\n",
                   i,
                   result[i],
                   i + expected_offset);
      return 1;
    }
  }

  cudaStream_t stream = nullptr;
  void* scratch = nullptr;
  if (!check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
             "cudaStreamCreateWithFlags") ||
      !check(cudaMallocAsync(&scratch, 1 << 20, stream), "cudaMallocAsync") ||
      !check(cudaMemsetAsync(scratch, 0, 1 << 20, stream), "cudaMemsetAsync") ||
      !check(cudaFreeAsync(scratch, stream), "cudaFreeAsync") ||
      !check(cudaStreamSynchronize(stream), "cudaStreamSynchronize")) {
    return 1;
  }
  // A stream-ordered pair made while the stream captures is the graph's allocation and free
  // (under a preload too: one that served it from its own pool would leave the graph empty).
  cudaGraph_t graph = nullptr;
  if (!check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed),
             "cudaStreamBeginCapture") ||
      !check(cudaMallocAsync(&scratch, 1 << 20, stream), "cudaMallocAsync in a capture") ||
      !check(cudaFreeAsync(scratch, stream), "cudaFreeAsync in a capture") ||
      !check(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture")) {
    return 1;
  }
  cudaGraphNode_t nodes[4] = {};
  std::size_t node_count = 4;
  if (!check(cudaGraphGetNodes(graph, nodes, &node_count), "cudaGraphGetNodes")) return 1;
  int allocations = 0;
  int frees = 0;
  for (std::size_t i = 0; i < node_count; ++i) {
    cudaGraphNodeType type{};
    if (!check(cudaGraphNodeGetType(nodes[i], &type), "cudaGraphNodeGetType")) return 1;
    allocations += type == cudaGraphNodeTypeMemAlloc;
    frees += type == cudaGraphNodeTypeMemFree;
  }
  if (node_count != 2 || allocations != 1 || frees != 1) {
    std::fprintf(stderr,
                 "runtime_smoke: the captured graph has %zu node(s), %d allocation(s) and %d "
                 "free(s); expected one of each\n",
                 node_count,
                 allocations,
                 frees);
    return 1;
  }
  if (!check(cudaGraphDestroy(graph), "cudaGraphDestroy") ||
      !check(cudaStreamDestroy(stream), "cudaStreamDestroy") ||
      !check(cudaFree(device), "cudaFree")) {
    return 1;
  }
  std::printf(
      "runtime_smoke: %d values round-tripped%s; stream-ordered allocation worked, and in a "
      "capture became the graph's nodes\n",
      kCount,
      launch_kernel ? " through a kernel" : "");
  return 0;
}
