#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpumem::cli {

/// What `gpumem run` was asked for.
struct run_options {
  std::optional<std::string> config;  ///< a configuration file (GPUMEM_CONFIG)
  std::optional<std::string> report;  ///< off, text or json (GPUMEM_REPORT)
  bool simulator = false;             ///< run on the CUDA simulator built beside this command
  std::vector<std::string> program;   ///< the program and its arguments
};

/**
 * @brief Replaces this process with the program, with libgpumem_preload.so first in LD_PRELOAD
 * and GPUMEM_CONFIG / GPUMEM_REPORT set as asked. The preload is GPUMEM_PRELOAD_LIBRARY when
 * set, else found beside this executable (../lib/ when installed, ../src/preload/ in a build
 * tree); the simulator (with `simulator`) is ../simulator in a build tree.
 * @return only on failure: 2 for a usage error, 127 when the program or the preload is missing
 */
int run(const run_options& options);

}  // namespace gpumem::cli
