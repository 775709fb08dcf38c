#pragma once

/**
 * @file logger.hpp
 * @brief gpumem's logger: named loggers with levels, printf-style messages and sinks (stderr, a
 * file, an ostream, a callback, nothing), and the process's default logger. It has the API of
 * `rapids_logger`, which RMM 25.10's `rmm/logger.hpp` exposes, so RMM code that configures or
 * writes RMM's log compiles against `<rmm/logger.hpp>` unchanged. Built on spdlog, which stays
 * private to libgpumem (no spdlog type in this header).
 */

#include <cstdint>
#include <cstdio>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace gpumem::logging {

/// Levels, least severe first (spdlog's).
enum class level_enum : std::int32_t { trace, debug, info, warn, error, critical, off, n_levels };

namespace detail {
class logger_impl;
class sink_impl;
}  // namespace detail

class sink;
/// Sinks are shared: one may serve several loggers.
using sink_ptr = std::shared_ptr<sink>;

/// A named logger. Thread safe. Movable, not copyable.
class logger {
 public:
  /// The sinks of a logger: changing them changes where the logger writes.
  class sink_vector {
   public:
    using Iterator = std::vector<sink_ptr>::iterator;             ///< iterator
    using ConstIterator = std::vector<sink_ptr>::const_iterator;  ///< const iterator

    /// The sinks of `parent` (initially `sinks`).
    explicit sink_vector(logger& parent, std::vector<sink_ptr> sinks = {})
        : parent_{&parent}, sinks_{std::move(sinks)} {}

    void push_back(const sink_ptr& added);  ///< the logger writes to `added` too
    void push_back(sink_ptr&& added);       ///< the logger writes to `added` too
    void pop_back();                        ///< the logger stops writing to the last sink
    void clear();                           ///< the logger writes nowhere

    Iterator begin() { return sinks_.begin(); }                       ///< first sink
    Iterator end() { return sinks_.end(); }                           ///< past the last
    ConstIterator begin() const { return sinks_.begin(); }            ///< first sink
    ConstIterator end() const { return sinks_.end(); }                ///< past the last
    ConstIterator cbegin() const { return sinks_.cbegin(); }          ///< first sink
    ConstIterator cend() const { return sinks_.cend(); }              ///< past the last
    [[nodiscard]] std::size_t size() const { return sinks_.size(); }  ///< how many

   private:
    friend class logger;
    logger* parent_;
    std::vector<sink_ptr> sinks_;
  };

  logger() = delete;
  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;
  logger(logger&& other) noexcept;             ///< takes `other`'s sinks and settings
  logger& operator=(logger&& other) noexcept;  ///< takes `other`'s sinks and settings

  /// A logger named `name` writing to the file `filename` (appended to).
  logger(std::string name, std::string filename);
  /// A logger named `name` writing to `stream`, which must outlive it.
  logger(std::string name, std::ostream& stream);
  /// A logger named `name` writing to `sinks`.
  logger(std::string name, std::vector<sink_ptr> sinks);
  ~logger();

  /// Writes `message` at level `level` (when the logger's level lets it through).
  void log(level_enum level, const std::string& message);

  /**
   * @brief Writes a printf-style formatted message at level `level`; std::string arguments are
   * passed as C strings. @throws std::runtime_error when the format cannot be applied
   */
  template <typename... Args>
  void log(level_enum level, const std::string& format, Args&&... args) {
    if (!should_log(level)) return;
    const auto c_string = [](auto&& argument) -> decltype(auto) {
      if constexpr (std::is_same_v<std::decay_t<decltype(argument)>, std::string>) {
        return argument.c_str();
      } else {
        return std::forward<decltype(argument)>(argument);
      }
    };
    // NOLINTBEGIN(cppcoreguidelines-pro-type-vararg)
    const int length = std::snprintf(nullptr, 0, format.c_str(), c_string(args)...);
    if (length < 0) throw std::runtime_error{"gpumem logger: the format cannot be applied"};
    std::string text(static_cast<std::size_t>(length) + 1, '\0');
    std::snprintf(text.data(), text.size(), format.c_str(), c_string(args)...);
    // NOLINTEND(cppcoreguidelines-pro-type-vararg)
    text.pop_back();
    log(level, text);
  }

  /// log() at level trace.
  template <typename... Args>
  void trace(const std::string& format, Args&&... args) {
    log(level_enum::trace, format, std::forward<Args>(args)...);
  }
  /// log() at level debug.
  template <typename... Args>
  void debug(const std::string& format, Args&&... args) {
    log(level_enum::debug, format, std::forward<Args>(args)...);
  }
  /// log() at level info.
  template <typename... Args>
  void info(const std::string& format, Args&&... args) {
    log(level_enum::info, format, std::forward<Args>(args)...);
  }
  /// log() at level warn.
  template <typename... Args>
  void warn(const std::string& format, Args&&... args) {
    log(level_enum::warn, format, std::forward<Args>(args)...);
  }
  /// log() at level error.
  template <typename... Args>
  void error(const std::string& format, Args&&... args) {
    log(level_enum::error, format, std::forward<Args>(args)...);
  }
  /// log() at level critical.
  template <typename... Args>
  void critical(const std::string& format, Args&&... args) {
    log(level_enum::critical, format, std::forward<Args>(args)...);
  }

  [[nodiscard]] const sink_vector& sinks() const;  ///< where the logger writes
  sink_vector& sinks();                            ///< where the logger writes
  [[nodiscard]] level_enum level() const;          ///< the least severe level written
  void set_level(level_enum level);                ///< writes `level` and above from now on
  void flush();                                    ///< flushes every sink
  void flush_on(level_enum level);  ///< flushes after each message of `level` and above
  [[nodiscard]] level_enum flush_level() const;           ///< the level that flushes
  [[nodiscard]] bool should_log(level_enum level) const;  ///< whether `level` is written
  /// The line layout, in spdlog's pattern syntax ("%v" is the message alone).
  void set_pattern(std::string pattern);

 private:
  friend class sink_vector;
  void refresh_sinks();

  std::unique_ptr<detail::logger_impl> impl_;
  sink_vector sinks_;
};

/// Where a logger writes. Made by one of the classes below; shared by sink_ptr.
class sink {
 public:
  ~sink();
  sink(const sink&) = delete;
  sink& operator=(const sink&) = delete;
  sink(sink&&) = delete;
  sink& operator=(sink&&) = delete;

 protected:
  explicit sink(std::unique_ptr<detail::sink_impl> impl);

 private:
  friend class logger;
  std::unique_ptr<detail::sink_impl> impl_;
};

/// Writes to a file (appended to, or emptied first with `truncate`).
class basic_file_sink_mt : public sink {
 public:
  explicit basic_file_sink_mt(const std::string& filename, bool truncate = false);
};

/// Writes to an ostream, which must outlive the sink; `force_flush` flushes every message.
class ostream_sink_mt : public sink {
 public:
  explicit ostream_sink_mt(std::ostream& stream, bool force_flush = false);
};

/// Writes nothing.
class null_sink_mt : public sink {
 public:
  null_sink_mt();
};

/// Writes to stderr.
class stderr_sink_mt : public sink {
 public:
  stderr_sink_mt();
};

/// Called with each message's level (as an int) and text.
using log_callback_t = void (*)(int level, const char* message);
/// Called when the sink is flushed.
using flush_callback_t = void (*)();

/// Hands each message to a function.
class callback_sink_mt : public sink {
 public:
  explicit callback_sink_mt(const log_callback_t& callback,
                            const flush_callback_t& flush = nullptr);
};

/// Sets a logger's level for a scope, then puts the previous one back.
struct log_level_setter {
  /// Sets `target`'s level to `level` until destroyed.
  log_level_setter(logger& target, level_enum level) : logger_{target}, previous_{target.level()} {
    target.set_level(level);
  }
  ~log_level_setter() { logger_.set_level(previous_); }
  log_level_setter(const log_level_setter&) = delete;
  log_level_setter& operator=(const log_level_setter&) = delete;
  log_level_setter(log_level_setter&&) = delete;
  log_level_setter& operator=(log_level_setter&&) = delete;

 private:
  logger& logger_;
  level_enum previous_;
};

}  // namespace gpumem::logging

namespace gpumem {

/// The default logger's sink: the file `RMM_DEBUG_LOG_FILE` names when set, stderr otherwise.
logging::sink_ptr default_sink();

/// The default logger's line layout: "[thread][time][level] message".
std::string default_pattern();

/// The process's default logger (named "RMM", level info), made on first use.
logging::logger& default_logger();

}  // namespace gpumem
