#pragma once
// Which CUDA a test process runs on, and the simulator's control functions (gpumem_sim.h)
// when it runs on the simulator.

#include <cstddef>
#include <cstdint>
#include <string>

namespace gpumem::test {

/// Where CUDA calls of this process go.
enum class cuda_platform {
  simulator,  ///< gpumem's CUDA simulator (its libcuda.so.1 is loaded)
  gpu,        ///< NVIDIA's driver with at least one device
  none,       ///< no driver or no device
};

/// Finds the platform; `why` receives a sentence saying what was found.
cuda_platform detect_cuda_platform(std::string* why = nullptr);

/// Whether the simulator is this process's driver.
bool on_simulator();

/// The simulator's control functions; each throws std::logic_error off the simulator.
namespace simulator {
std::size_t outstanding_allocations(int device = -1);
std::uint64_t bytes_in_use(int device);
std::uint64_t call_count(const char* function_name);
void reset_call_counts();
void fail_allocation(std::uint64_t n);
void fail_above(std::uint64_t bytes);
void hide_memory(std::uint64_t bytes);
/// Resets a device as a statically linked runtime does: no driver entry point is called.
void reset_device_internally(int device);
}  // namespace simulator

}  // namespace gpumem::test

/// Skips the current test unless it runs on the simulator (for checks that need its
/// fault injection or call counts).
#define GPUMEM_REQUIRE_SIMULATOR()                                                   \
  do {                                                                               \
    if (!::gpumem::test::on_simulator()) GTEST_SKIP() << "needs the CUDA simulator"; \
  } while (false)
