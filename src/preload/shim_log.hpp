#pragma once
// The shim's debug log, through spdlog: every line starts with "gpumem:", goes to the
// configured debug file (stderr by default) at the configured level, and warnings are bounded
// so a program that triggers one in a loop is not flooded. spdlog and fmt are compiled into
// the preload header-only and stay private to it (the version script exports neither), so a
// host process with its own copies (PyTorch) is unaffected.

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "config/configuration.hpp"

namespace spdlog {
class logger;
}

namespace gpumem::preload {

/// The shim's log.
class shim_log {
 public:
  /// Opens the configured debug file (debug_file, with {pid}) at the configured level.
  explicit shim_log(const config::configuration& configuration);
  ~shim_log();
  shim_log(const shim_log&) = delete;
  shim_log& operator=(const shim_log&) = delete;
  shim_log(shim_log&&) = delete;
  shim_log& operator=(shim_log&&) = delete;

  void error(const std::string& line);  ///< written unless the level is off
  void warn(const std::string& line);   ///< bounded: at most kMaxWarnings, then one notice
  void info(const std::string& line);   ///< what the shim decided (stacks built, trims)
  void debug(const std::string& line);  ///< per-call detail (pass-throughs and their reasons)

  /// Whether debug lines are written (so callers skip building them otherwise).
  [[nodiscard]] bool debug_enabled() const noexcept;

  /// One out-of-memory report: the request, the device, what its stack holds.
  void out_of_memory(int device,
                     std::size_t bytes,
                     const std::string& reason,
                     const std::string& stack_state);

  /// Writes what is buffered (before the report, which goes to stderr directly).
  void flush();

 private:
  static constexpr int kMaxWarnings = 20;

  std::shared_ptr<spdlog::logger> logger_;
  std::atomic<int> warnings_{0};
};

}  // namespace gpumem::preload
