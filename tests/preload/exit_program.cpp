// Frees shim memory from a static destructor, after the shim's exit report: the shim must make
// no CUDA call then, and the program must end normally. Prints "exit_program: done".
// With --memory-info-only it asks cudaMemGetInfo and nothing else. With --wait SECONDS it
// prints "exit_program: waiting" after its allocations and sleeps that long before it ends (to
// be killed or signalled meanwhile); with --free-and-wait SECONDS it frees the 4 KiB block first
// and prints "exit_program: freed POINTER, waiting".

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

struct held_until_exit {
  void* block = nullptr;
  ~held_until_exit() { (void)cudaFree(block); }
} held;

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);  // "done" reaches the log before the exit report
  if (argc > 1 && std::strcmp(argv[1], "--memory-info-only") == 0) {
    // Asking for memory information must not make the shim build (and fill) a stack.
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return 1;
    std::printf("exit_program: memory info only: %zu of %zu bytes free\n", free_bytes, total_bytes);
    return 0;
  }
  if (cudaMalloc(&held.block, 1 << 20) != cudaSuccess) return 1;
  void* leaked = nullptr;
  if (cudaMalloc(&leaked, 4096) != cudaSuccess) return 1;
  if (argc > 2 && std::strcmp(argv[1], "--free-and-wait") == 0) {
    if (cudaFree(leaked) != cudaSuccess) return 1;
    std::printf("exit_program: freed %p, waiting\n", leaked);
    std::this_thread::sleep_for(std::chrono::duration<double>(std::atof(argv[2])));
  }
  if (argc > 2 && std::strcmp(argv[1], "--wait") == 0) {
    std::puts("exit_program: waiting");
    std::this_thread::sleep_for(std::chrono::duration<double>(std::atof(argv[2])));
  }
  std::puts("exit_program: done");
  return 0;
}
