#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gpumem::cli {

/// What `gpumem replay` was asked for.
struct replay_options {
  std::string log;                     ///< the allocation log (CSV)
  std::vector<std::string> configs;    ///< configuration files to replay through as well
  std::optional<std::uint64_t> limit;  ///< a limit on what each stack's source may hold
};

/**
 * @brief `gpumem replay LOG.csv [--config FILE]... [--limit SIZE]`: replays an allocation log
 * through cudaMalloc, the driver's pool (cuda_async), a pool over cudaMalloc slabs, the default
 * stack and each configuration
 * given, on device 0, and prints per configuration the time per operation, the peak bytes
 * requested, the peak bytes the process held on the device, their ratio, the largest free
 * block of a pool at that peak, and the out-of-memory count (under --limit, a limit on what
 * the stack's source may hold).
 * @return 0 when every replay ran; 1 when the log or a configuration is bad or CUDA fails
 */
int replay(const replay_options& options);

}  // namespace gpumem::cli
