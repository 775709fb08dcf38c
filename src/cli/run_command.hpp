#pragma once
// `gpumem run [--config FILE] -- PROGRAM ARGS...`: runs a program under the shim.

namespace gpumem::cli {

/**
 * @brief Replaces this process with PROGRAM, with libgpumem_preload.so first in LD_PRELOAD and
 * GPUMEM_CONFIG set when --config is given. The preload is GPUMEM_PRELOAD_LIBRARY when set, else
 * found beside this executable (../lib/ when installed, ../src/preload/ in a build tree).
 * @return only on failure: 2 for a usage error, 127 when the program or the preload is missing
 */
int run(int argc, char** argv);

}  // namespace gpumem::cli
