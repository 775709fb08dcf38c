#include "cli/run_command.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

namespace gpumem::cli {
namespace {

/// The folder of this executable, or empty.
std::filesystem::path own_folder() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::path{} : self.parent_path();
}

std::filesystem::path find_preload() {
  if (const char* named = std::getenv("GPUMEM_PRELOAD_LIBRARY"); named != nullptr && *named != '\0')
    return named;
  const std::filesystem::path folder = own_folder();
  if (folder.empty()) return {};
  for (const char* relative :
       {"../lib/libgpumem_preload.so", "../src/preload/libgpumem_preload.so"}) {
    const std::filesystem::path candidate = folder / relative;
    if (std::filesystem::exists(candidate)) return std::filesystem::canonical(candidate);
  }
  return {};
}

/// Puts `first` before what the variable `name` holds (a colon-separated list).
void prepend(const char* name, const std::string& first) {
  const char* existing = std::getenv(name);
  const std::string value =
      first + (existing != nullptr && *existing != '\0' ? ":" + std::string{existing} : "");
  setenv(name, value.c_str(), 1);
}

}  // namespace

int run(const run_options& options) {
  if (options.program.empty()) {
    std::cerr << "gpumem run: no program to run (gpumem run [OPTIONS] -- PROGRAM [ARGS...])\n";
    return 2;
  }
  const std::filesystem::path preload = find_preload();
  if (preload.empty() || !std::filesystem::exists(preload)) {
    std::cerr << "gpumem run: cannot find libgpumem_preload.so beside this gpumem (set "
                 "GPUMEM_PRELOAD_LIBRARY to its path)\n";
    return 127;
  }
  if (options.config) {
    if (!std::filesystem::exists(*options.config)) {
      std::cerr << "gpumem run: --config " << *options.config << ": no such file\n";
      return 2;
    }
    setenv("GPUMEM_CONFIG", std::filesystem::absolute(*options.config).c_str(), 1);
  }
  if (options.report) setenv("GPUMEM_REPORT", options.report->c_str(), 1);
  if (options.simulator) {
    const std::filesystem::path simulator = own_folder() / "../simulator";
    if (!std::filesystem::exists(simulator / "libcuda.so.1")) {
      std::cerr << "gpumem run --simulator: no CUDA simulator beside this gpumem (it is built in "
                   "a build tree, as build/simulator)\n";
      return 2;
    }
    prepend("LD_LIBRARY_PATH", std::filesystem::canonical(simulator).string());
  }
  prepend("LD_PRELOAD", preload.string());
  std::vector<char*> arguments;
  for (const std::string& argument : options.program)
    arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  execvp(arguments.front(), arguments.data());
  std::cerr << "gpumem run: cannot run " << options.program.front() << ": " << std::strerror(errno)
            << "\n";
  return 127;
}

}  // namespace gpumem::cli
