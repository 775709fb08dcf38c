#include "cli/run_command.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

namespace gpumem::cli {
namespace {

constexpr std::string_view kUsage = "usage: gpumem run [--config FILE] -- PROGRAM [ARGS...]\n";

std::filesystem::path find_preload() {
  if (const char* named = std::getenv("GPUMEM_PRELOAD_LIBRARY"); named != nullptr && *named != '\0')
    return named;
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return {};
  for (const char* relative :
       {"../lib/libgpumem_preload.so", "../src/preload/libgpumem_preload.so"}) {
    const std::filesystem::path candidate = self.parent_path() / relative;
    if (std::filesystem::exists(candidate)) return std::filesystem::canonical(candidate);
  }
  return {};
}

}  // namespace

int run(int argc, char** argv) {
  // argv: gpumem run [--config FILE] -- PROGRAM ARGS...
  int next = 2;
  std::string config;
  if (next < argc && std::string_view{argv[next]} == "--config") {
    if (next + 1 >= argc) {
      std::cerr << "gpumem run: --config needs a file\n" << kUsage;
      return 2;
    }
    config = argv[next + 1];
    next += 2;
  }
  if (next < argc && std::string_view{argv[next]} == "--") ++next;
  if (next >= argc) {
    std::cerr << "gpumem run: no program to run\n" << kUsage;
    return 2;
  }
  const std::filesystem::path preload = find_preload();
  if (preload.empty() || !std::filesystem::exists(preload)) {
    std::cerr << "gpumem run: cannot find libgpumem_preload.so (set GPUMEM_PRELOAD_LIBRARY)\n";
    return 127;
  }
  if (!config.empty()) {
    if (!std::filesystem::exists(config)) {
      std::cerr << "gpumem run: --config " << config << ": no such file\n";
      return 2;
    }
    setenv("GPUMEM_CONFIG", std::filesystem::absolute(config).c_str(), 1);
  }
  const char* existing = std::getenv("LD_PRELOAD");
  const std::string preloads =
      preload.string() +
      (existing != nullptr && *existing != '\0' ? ":" + std::string{existing} : "");
  setenv("LD_PRELOAD", preloads.c_str(), 1);
  execvp(argv[next], argv + next);
  std::cerr << "gpumem run: cannot run " << argv[next] << ": " << std::strerror(errno) << "\n";
  return 127;
}

}  // namespace gpumem::cli
