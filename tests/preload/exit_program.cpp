// Frees shim memory from a static destructor, after the shim's exit report: the shim must make
// no CUDA call then, and the program must end normally. Prints "exit_program: done".

#include <cuda_runtime_api.h>

#include <cstdio>

namespace {

struct held_until_exit {
  void* block = nullptr;
  ~held_until_exit() { (void)cudaFree(block); }
} held;

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);  // "done" reaches the log before the exit report
  if (cudaMalloc(&held.block, 1 << 20) != cudaSuccess) return 1;
  void* leaked = nullptr;
  if (cudaMalloc(&leaked, 4096) != cudaSuccess) return 1;
  std::puts("exit_program: done");
  return 0;
}
