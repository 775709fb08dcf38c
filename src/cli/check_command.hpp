#pragma once
// `gpumem check [FILE]`: validates a configuration with the current environment and prints
// the resolved stack of every device.

#include <optional>
#include <ostream>
#include <string>

#include "config/configuration.hpp"

namespace gpumem::cli {

/// A device's memory, as `gpumem check` resolves shares against it.
struct device_memory {
  int device;
  std::uint64_t total_bytes;
};

/**
 * @brief Prints the configuration (process options, each device's stack, the managed stack),
 * every value with where it came from, then the problems.
 * @param devices the devices found (empty: none, shares stay as written)
 * @return 0 when valid, 1 otherwise
 */
int check(const config::configuration& configuration,
          const std::vector<device_memory>& devices,
          std::ostream& out,
          std::ostream& errors);

}  // namespace gpumem::cli
