#pragma once
// The shim's messages: every line starts with "gpumem:", goes to the configured debug file
// (stderr by default) at the configured level, and warnings are bounded so a program that
// triggers one in a loop is not flooded.

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "config/configuration.hpp"

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

  void error(const std::string& line);  ///< always written (unless the level is off)
  void warn(const std::string& line);   ///< bounded: at most kMaxWarnings, then one notice
  void info(const std::string& line);
  void debug(const std::string& line);

  /// One out-of-memory report: the request, the device, what its stack holds.
  void out_of_memory(int device, std::size_t bytes, const std::string& reason, const std::string& stack_state);

  /// The stream the report goes to when it goes where the log goes.
  [[nodiscard]] std::FILE* stream() const noexcept { return file_; }

 private:
  static constexpr int kMaxWarnings = 20;
  enum class level { trace, debug, info, warn, error, off };

  void write(level at, const std::string& line);

  level level_ = level::warn;
  std::FILE* file_ = stderr;
  bool owns_file_ = false;
  std::atomic<int> warnings_{0};
  std::mutex mutex_;
};

}  // namespace gpumem::preload
