// The gpumem command.
//   gpumem check [FILE]   validate a configuration (FILE, or GPUMEM_CONFIG's) with the current
//                         GPUMEM_* environment and print each device's resolved stack
//   gpumem keys           print every configuration key as a Markdown table (README.md's)
//   gpumem run [--config FILE] -- PROGRAM ARGS...   run a program under the shim
//   gpumem replay LOG.csv [--config FILE]... [--limit SIZE]   replay an allocation log
//   gpumem help           this text

#include <cuda_runtime_api.h>

#include <cstdio>
#include <iostream>
#include <string_view>

#include "cli/check_command.hpp"
#include "cli/replay_command.hpp"
#include "cli/run_command.hpp"
#include "config/key_table.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: gpumem <command>\n"
    "  check [FILE]   validate a configuration (FILE, else the file GPUMEM_CONFIG names) together "
    "with\n"
    "                 the GPUMEM_* environment, and print every device's resolved stack with where "
    "each\n"
    "                 value came from; exit status 0 when valid\n"
    "  keys           print every configuration key (TOML key, GPUMEM_* variable, type, default,\n"
    "                 meaning) as a Markdown table\n"
    "  run [--config FILE] -- PROGRAM [ARGS...]\n"
    "                 run PROGRAM under the shim (libgpumem_preload.so in LD_PRELOAD, "
    "GPUMEM_CONFIG=FILE)\n"
    "  replay LOG.csv [--config FILE]... [--limit SIZE]\n"
    "                 replay an allocation log through cudaMalloc, the driver's pool, the "
    "default\n"
    "                 stack and each FILE; print time per operation, peak requested and held\n"
    "  help           this text\n";

std::vector<gpumem::cli::device_memory> find_devices() {
  std::vector<gpumem::cli::device_memory> devices;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return devices;
  }
  for (int device = 0; device < count; ++device) {
    cudaDeviceProp properties{};
    if (cudaGetDeviceProperties(&properties, device) == cudaSuccess) {
      devices.push_back({device, properties.totalGlobalMem});
    }
  }
  return devices;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "help";
  if (command == "check") {
    if (argc > 3) {
      std::cerr << "gpumem check: one file at most\n" << kUsage;
      return 2;
    }
    std::optional<std::string> file;
    if (argc == 3) file = argv[2];
    const auto configuration =
        gpumem::config::configuration::load(file, gpumem::config::process_environment());
    return gpumem::cli::check(configuration, find_devices(), std::cout, std::cerr);
  }
  if (command == "keys") {
    if (argc > 2) {
      std::cerr << "gpumem keys: no arguments\n" << kUsage;
      return 2;
    }
    std::cout << gpumem::config::markdown_key_table();
    return 0;
  }
  if (command == "run") return gpumem::cli::run(argc, argv);
  if (command == "replay") return gpumem::cli::replay(argc, argv);
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "gpumem: unknown command '" << command << "'\n" << kUsage;
  return 2;
}
