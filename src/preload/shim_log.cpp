#include "preload/shim_log.hpp"

#include "config/stack_builder.hpp"

namespace gpumem::preload {

shim_log::shim_log(const config::configuration& configuration) {
  const std::string& name = configuration.process_text("debug_level");
  level_ = name == "trace"   ? level::trace
           : name == "debug" ? level::debug
           : name == "info"  ? level::info
           : name == "error" ? level::error
           : name == "off"   ? level::off
                             : level::warn;
  const std::string file = config::with_pid(configuration.process_text("debug_file"));
  if (!file.empty() && file != "stderr") {
    if (file == "stdout") {
      file_ = stdout;
    } else if (std::FILE* opened = std::fopen(file.c_str(), "a"); opened != nullptr) {
      file_ = opened;
      owns_file_ = true;
    } else {
      std::fprintf(stderr, "gpumem: cannot open the debug log %s; writing to stderr\n", file.c_str());
    }
  }
}

shim_log::~shim_log() {
  if (owns_file_) std::fclose(file_);
}

void shim_log::write(level at, const std::string& line) {
  if (at < level_ || level_ == level::off) return;
  std::lock_guard lock(mutex_);
  std::fprintf(file_, "%s\n", line.c_str());
  std::fflush(file_);
}

void shim_log::error(const std::string& line) { write(level::error, line); }
void shim_log::info(const std::string& line) { write(level::info, line); }
void shim_log::debug(const std::string& line) { write(level::debug, line); }

void shim_log::warn(const std::string& line) {
  const int count = warnings_.fetch_add(1);
  if (count < kMaxWarnings) {
    write(level::warn, line);
  } else if (count == kMaxWarnings) {
    write(level::warn, "gpumem: more warnings follow; not shown (" + std::to_string(kMaxWarnings) + " shown)");
  }
}

void shim_log::out_of_memory(int device, std::size_t bytes, const std::string& reason, const std::string& stack_state) {
  warn("gpumem: out of memory on device " + std::to_string(device) + ": " + std::to_string(bytes) +
       " bytes requested; " + stack_state + "; " + reason);
}

}  // namespace gpumem::preload
