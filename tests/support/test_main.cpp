// The main of every test program that talks to CUDA. ctest runs such a program once per
// platform it is registered for, naming the platform in GPUMEM_TEST_TARGET:
//   sim: the simulator must be the loaded driver (ctest puts it first on LD_LIBRARY_PATH);
//   gpu: a real GPU must be there; without one the program prints why and exits 77, which
//        ctest reports as skipped; on the simulator it fails, since that would prove nothing.
// Run by hand without GPUMEM_TEST_TARGET, it runs on whatever CUDA it finds, and skips (77)
// where there is none.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cuda_platform.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* target_variable = std::getenv("GPUMEM_TEST_TARGET");
  const std::string target = target_variable != nullptr ? target_variable : "";
  std::string why;
  const auto platform = gpumem::test::detect_cuda_platform(&why);
  if (target == "gpu" && platform == gpumem::test::cuda_platform::simulator) {
    std::fprintf(stderr,
                 "FAILED: a gpu test runs on the CUDA simulator (%s); remove the simulator from "
                 "LD_LIBRARY_PATH\n",
                 why.c_str());
    return 1;
  }
  if (target != "sim" && platform == gpumem::test::cuda_platform::none) {
    std::printf("SKIPPED: this test needs a CUDA GPU, and there is none here: %s\n", why.c_str());
    return 77;
  }
  if (target == "sim" && platform != gpumem::test::cuda_platform::simulator) {
    std::fprintf(
        stderr, "FAILED: a sim test does not run on the CUDA simulator (%s)\n", why.c_str());
    return 1;
  }
  std::printf("CUDA platform: %s\n", why.c_str());
  return RUN_ALL_TESTS();
}
