// Runs a program (not a GoogleTest one) as a gpu test: where there is no GPU it prints why and
// exits 77, which ctest reports as skipped; on the simulator it fails; on a GPU it becomes the
// program.   gpu_or_skip PROGRAM [ARGS...]

#include <unistd.h>

#include <cstdio>
#include <string>

#include "cuda_platform.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gpu_or_skip PROGRAM [ARGS...]\n");
    return 2;
  }
  std::string why;
  switch (gpumem::test::detect_cuda_platform(&why)) {
    case gpumem::test::cuda_platform::none:
      std::printf(
          "SKIPPED: %s needs a CUDA GPU, and there is none here: %s\n", argv[1], why.c_str());
      return 77;
    case gpumem::test::cuda_platform::simulator:
      std::fprintf(stderr, "FAILED: a gpu test runs on the CUDA simulator (%s)\n", why.c_str());
      return 1;
    case gpumem::test::cuda_platform::gpu:
      break;
  }
  execv(argv[1], argv + 1);
  std::perror("gpu_or_skip: execv");
  return 1;
}
