// A driver-API program that makes a context of its own (cuCtxCreate, as NVIDIA's
// threadMigration and simpleDrvRuntime samples do), allocates in it, destroys it, and then
// allocates in the device's primary context. Under the shim, memory the pool took while the
// program's context was current went with that context: a stack that served both would hand
// it out afterwards, and the writes below would fail. Prints "user_context: ok" and exits 0
// when every allocation and write succeeds.

#include <cuda.h>

#include <cstdio>

namespace {

bool check(CUresult status, const char* what) {
  if (status == CUDA_SUCCESS) return true;
  const char* name = nullptr;
  (void)cuGetErrorName(status, &name);
  std::printf("user_context: FAILED: %s: %s\n", what, name != nullptr ? name : "?");
  return false;
}

}  // namespace

int main() {
  constexpr std::size_t kLarge = std::size_t{256} << 20;
  CUdevice device = 0;
  if (cuInit(0) != CUDA_SUCCESS || cuDeviceGet(&device, 0) != CUDA_SUCCESS) {
    std::printf("SKIPPED: user_context needs a CUDA GPU\n");
    return 77;
  }
  CUcontext primary = nullptr;
  if (!check(cuDevicePrimaryCtxRetain(&primary, device), "cuDevicePrimaryCtxRetain") ||
      !check(cuCtxSetCurrent(primary), "cuCtxSetCurrent")) {
    return 1;
  }
  CUdeviceptr first = 0;  // the primary context's stack exists from here on
  if (!check(cuMemAlloc(&first, 1 << 20), "cuMemAlloc (primary)")) return 1;

  CUcontext mine = nullptr;
  if (!check(cuCtxCreate(&mine, nullptr, 0, device), "cuCtxCreate")) return 1;
  CUdeviceptr in_mine = 0;
  if (!check(cuMemAlloc(&in_mine, kLarge), "cuMemAlloc (own context)") ||
      !check(cuMemsetD8(in_mine, 1, kLarge), "cuMemsetD8 (own context)") ||
      !check(cuCtxSynchronize(), "cuCtxSynchronize (own context)") ||
      !check(cuMemFree(in_mine), "cuMemFree (own context)") ||
      !check(cuCtxDestroy(mine), "cuCtxDestroy")) {
    return 1;
  }

  if (!check(cuCtxSetCurrent(primary), "cuCtxSetCurrent")) return 1;
  for (int round = 0; round < 4; ++round) {
    CUdeviceptr block = 0;
    if (!check(cuMemAlloc(&block, kLarge), "cuMemAlloc (primary, after the destroy)") ||
        !check(cuMemsetD8(block, 2, kLarge), "cuMemsetD8 (primary, after the destroy)") ||
        !check(cuCtxSynchronize(), "cuCtxSynchronize (primary)") ||
        !check(cuMemFree(block), "cuMemFree (primary)")) {
      return 1;
    }
  }
  if (!check(cuMemFree(first), "cuMemFree (first)")) return 1;
  std::printf("user_context: ok\n");
  return 0;
}
