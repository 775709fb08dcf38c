#include "preload/shim_log.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <string_view>

#include "config/stack_builder.hpp"

namespace gpumem::preload {
namespace {

spdlog::sink_ptr sink_for(const std::string& file) {
  if (file.empty() || file == "stderr") return std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (file == "stdout") return std::make_shared<spdlog::sinks::stdout_sink_mt>();
  try {
    return std::make_shared<spdlog::sinks::basic_file_sink_mt>(file);
  } catch (const spdlog::spdlog_ex& error) {
    std::fprintf(stderr,
                 "gpumem: cannot open the debug log %s (%s); writing to stderr\n",
                 file.c_str(),
                 error.what());
    return std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
}

/// The logger's pattern starts every line with "gpumem: "; messages made elsewhere for the
/// command line (configuration problems) carry it already.
std::string_view unprefixed(std::string_view line) {
  constexpr std::string_view prefix = "gpumem: ";
  return line.starts_with(prefix) ? line.substr(prefix.size()) : line;
}

}  // namespace

shim_log::shim_log(const config::configuration& configuration) {
  // Not registered with spdlog's registry: the log is the shim's alone.
  logger_ = std::make_shared<spdlog::logger>(
      "gpumem", sink_for(config::with_pid(configuration.process_text("debug_file"))));
  logger_->set_pattern("gpumem: %v");
  // The choices are spdlog's level names (the schema checked them): trace .. error, off.
  logger_->set_level(spdlog::level::from_str(configuration.process_text("debug_level")));
  // Lines reach the file as they are written: a crashing host program must not take the
  // shim's last words with it.
  logger_->flush_on(spdlog::level::trace);
}

shim_log::~shim_log() = default;

void shim_log::error(const std::string& line) {
  logger_->error(unprefixed(line));
}
void shim_log::info(const std::string& line) {
  logger_->info(unprefixed(line));
}
void shim_log::debug(const std::string& line) {
  logger_->debug(unprefixed(line));
}
bool shim_log::debug_enabled() const noexcept {
  return logger_->should_log(spdlog::level::debug);
}
void shim_log::flush() {
  logger_->flush();
}

void shim_log::warn(const std::string& line) {
  const int count = warnings_.fetch_add(1, std::memory_order_relaxed);
  if (count < kMaxWarnings) {
    logger_->warn(unprefixed(line));
  } else if (count == kMaxWarnings) {
    logger_->warn("more warnings follow; not shown ({} shown)", kMaxWarnings);
  }
}

void shim_log::out_of_memory(int device,
                             std::size_t bytes,
                             const std::string& reason,
                             const std::string& stack_state) {
  warn("out of memory on device " + std::to_string(device) + ": " + std::to_string(bytes) +
       " bytes requested; " + stack_state + "; " + reason);
}

}  // namespace gpumem::preload
