// gpumem's logger (include/gpumem/logger.hpp) on spdlog. This file is compiled with hidden
// visibility, so the spdlog and fmt code it inlines stays private to libgpumem; the logger's
// own functions are exported by the attribute below.

#include "gpumem/logger.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <mutex>

#define GPUMEM_LOGGER_EXPORT __attribute__((visibility("default")))

namespace gpumem::logging {
namespace detail {

class sink_impl {
 public:
  explicit sink_impl(spdlog::sink_ptr made) : sink{std::move(made)} {}
  spdlog::sink_ptr sink;
};

class logger_impl {
 public:
  explicit logger_impl(std::string name) : logger{std::move(name)} {}
  spdlog::logger logger;
  std::string pattern;  ///< set_pattern()'s, for sinks added later too (empty: spdlog's)
};

}  // namespace detail

namespace {

/// Hands each message to a function, and flushes through another.
class callback_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  callback_sink(log_callback_t on_message, flush_callback_t on_flush)
      : on_message_{on_message}, on_flush_{on_flush} {}

 private:
  void sink_it_(const spdlog::details::log_msg& message) override {
    if (on_message_ == nullptr) return;
    const std::string text{message.payload.data(), message.payload.size()};
    on_message_(static_cast<int>(message.level), text.c_str());
  }
  void flush_() override {
    if (on_flush_ != nullptr) on_flush_();
  }
  log_callback_t on_message_;
  flush_callback_t on_flush_;
};

spdlog::level::level_enum to_spdlog(level_enum level) {
  return static_cast<spdlog::level::level_enum>(static_cast<int>(level));
}
level_enum from_spdlog(spdlog::level::level_enum level) {
  return static_cast<level_enum>(static_cast<int>(level));
}

}  // namespace

// --- sinks

GPUMEM_LOGGER_EXPORT sink::sink(std::unique_ptr<detail::sink_impl> impl) : impl_{std::move(impl)} {}
GPUMEM_LOGGER_EXPORT sink::~sink() = default;

GPUMEM_LOGGER_EXPORT basic_file_sink_mt::basic_file_sink_mt(const std::string& filename,
                                                            bool truncate)
    : sink{std::make_unique<detail::sink_impl>(
          std::make_shared<spdlog::sinks::basic_file_sink_mt>(filename, truncate))} {}

GPUMEM_LOGGER_EXPORT ostream_sink_mt::ostream_sink_mt(std::ostream& stream, bool force_flush)
    : sink{std::make_unique<detail::sink_impl>(
          std::make_shared<spdlog::sinks::ostream_sink_mt>(stream, force_flush))} {}

GPUMEM_LOGGER_EXPORT null_sink_mt::null_sink_mt()
    : sink{std::make_unique<detail::sink_impl>(std::make_shared<spdlog::sinks::null_sink_mt>())} {}

GPUMEM_LOGGER_EXPORT stderr_sink_mt::stderr_sink_mt()
    : sink{std::make_unique<detail::sink_impl>(std::make_shared<spdlog::sinks::stderr_sink_mt>())} {
}

GPUMEM_LOGGER_EXPORT callback_sink_mt::callback_sink_mt(const log_callback_t& callback,
                                                        const flush_callback_t& flush)
    : sink{std::make_unique<detail::sink_impl>(std::make_shared<callback_sink>(callback, flush))} {}

// --- the sink vector

GPUMEM_LOGGER_EXPORT void logger::sink_vector::push_back(const sink_ptr& added) {
  sinks_.push_back(added);
  parent_->refresh_sinks();
}
GPUMEM_LOGGER_EXPORT void logger::sink_vector::push_back(sink_ptr&& added) {
  sinks_.push_back(std::move(added));
  parent_->refresh_sinks();
}
GPUMEM_LOGGER_EXPORT void logger::sink_vector::pop_back() {
  sinks_.pop_back();
  parent_->refresh_sinks();
}
GPUMEM_LOGGER_EXPORT void logger::sink_vector::clear() {
  sinks_.clear();
  parent_->refresh_sinks();
}

// --- the logger

GPUMEM_LOGGER_EXPORT logger::logger(std::string name, std::vector<sink_ptr> sinks)
    : impl_{std::make_unique<detail::logger_impl>(std::move(name))},
      sinks_{*this, std::move(sinks)} {
  impl_->logger.set_level(spdlog::level::info);
  refresh_sinks();
}

GPUMEM_LOGGER_EXPORT logger::logger(std::string name, std::string filename)
    : logger{std::move(name), {std::make_shared<basic_file_sink_mt>(filename)}} {}

GPUMEM_LOGGER_EXPORT logger::logger(std::string name, std::ostream& stream)
    : logger{std::move(name), {std::make_shared<ostream_sink_mt>(stream)}} {}

GPUMEM_LOGGER_EXPORT logger::~logger() = default;

GPUMEM_LOGGER_EXPORT logger::logger(logger&& other) noexcept
    : impl_{std::move(other.impl_)}, sinks_{*this, std::move(other.sinks_.sinks_)} {}

GPUMEM_LOGGER_EXPORT logger& logger::operator=(logger&& other) noexcept {
  if (this != &other) {
    impl_ = std::move(other.impl_);
    sinks_.sinks_ = std::move(other.sinks_.sinks_);
  }
  return *this;
}

void logger::refresh_sinks() {
  auto& target = impl_->logger.sinks();
  target.clear();
  for (const sink_ptr& added : sinks_) {
    if (added != nullptr) target.push_back(added->impl_->sink);
  }
  // The logger's line layout holds for every sink it writes to, added before or after.
  if (!impl_->pattern.empty()) impl_->logger.set_pattern(impl_->pattern);
}

GPUMEM_LOGGER_EXPORT void logger::log(level_enum level, const std::string& message) {
  impl_->logger.log(to_spdlog(level), "{}", message);
}

GPUMEM_LOGGER_EXPORT const logger::sink_vector& logger::sinks() const {
  return sinks_;
}
GPUMEM_LOGGER_EXPORT logger::sink_vector& logger::sinks() {
  return sinks_;
}
GPUMEM_LOGGER_EXPORT level_enum logger::level() const {
  return from_spdlog(impl_->logger.level());
}
GPUMEM_LOGGER_EXPORT void logger::set_level(level_enum level) {
  impl_->logger.set_level(to_spdlog(level));
}
GPUMEM_LOGGER_EXPORT void logger::flush() {
  impl_->logger.flush();
}
GPUMEM_LOGGER_EXPORT void logger::flush_on(level_enum level) {
  impl_->logger.flush_on(to_spdlog(level));
}
GPUMEM_LOGGER_EXPORT level_enum logger::flush_level() const {
  return from_spdlog(impl_->logger.flush_level());
}
GPUMEM_LOGGER_EXPORT bool logger::should_log(level_enum level) const {
  return impl_->logger.should_log(to_spdlog(level));
}
GPUMEM_LOGGER_EXPORT void logger::set_pattern(std::string pattern) {
  impl_->pattern = std::move(pattern);
  impl_->logger.set_pattern(impl_->pattern);
}

}  // namespace gpumem::logging

namespace gpumem {

GPUMEM_LOGGER_EXPORT logging::sink_ptr default_sink() {
  if (const char* file = std::getenv("RMM_DEBUG_LOG_FILE"); file != nullptr && *file != '\0')
    return std::make_shared<logging::basic_file_sink_mt>(file, true);
  return std::make_shared<logging::stderr_sink_mt>();
}

GPUMEM_LOGGER_EXPORT std::string default_pattern() {
  return "[%6t][%H:%M:%S:%f][%-6l] %v";
}

GPUMEM_LOGGER_EXPORT logging::logger& default_logger() {
  static logging::logger* const instance = [] {
    // Never destroyed: resources may log from static destructors.
    auto* made = new logging::logger{"RMM", {default_sink()}};
    made->set_pattern(default_pattern());
    return made;
  }();
  return *instance;
}

}  // namespace gpumem
