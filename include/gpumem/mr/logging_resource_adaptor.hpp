#pragma once

/**
 * @file logging_resource_adaptor.hpp
 * @brief Writes every allocation and free that passes through to an upstream resource as a
 * CSV row, in RMM's format (readable by RMM's replay benchmark and log parser).
 */

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "gpumem/logger.hpp"
#include "gpumem/mr/detail/resource_adaptor_core.hpp"

namespace gpumem::mr {
namespace detail {

/**
 * @brief The logging algorithm, independent of the upstream's type (see logging_resource_adaptor).
 *
 * Rows are formatted with std::to_chars into one buffer per adaptor, under one mutex, and
 * written out (write(2) for a file, ostream::write for a stream) when the buffer is nearly full,
 * on flush(), at destruction, and after every row when auto_flush is on. The clock is read
 * under the mutex, so rows are in time order; the local time of day is converted once per
 * second. A failed write is reported once on stderr ("gpumem: ...") and the log goes on.
 */
class logging_adaptor_core : public resource_adaptor_core {
 public:
  /// Writes what is buffered to the file or stream, and flushes the stream.
  void flush();

  /**
   * @brief Logs the free of `ptr` now, for a caller that gives the block back later (the shim's
   * quarantine keeps a freed block until a device barrier): the row comes when the program freed
   * the block, and the deallocate of `ptr` that follows writes no second row. The layer must
   * see the caller's own blocks (no sub-allocator or aligning layer above it). Out of host
   * memory, the row waits for the deallocate as without this call.
   */
  void log_free_ahead(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept;

  /// The CSV header: `Thread,Time,Action,Pointer,Size,Stream`.
  [[nodiscard]] std::string header() const;

  /**
   * @brief The log file named by the environment: GPUMEM_LOG_FILE, else RMM_LOG_FILE (RMM's
   * variable).
   * @throws gpumem::logic_error naming both variables when neither is set
   */
  [[nodiscard]] static std::string get_default_filename();

 protected:
  /**
   * @brief Logs to the file `filename`, truncated first.
   * @throws gpumem::logic_error naming the file and the system's reason when it cannot be opened
   */
  logging_adaptor_core(device_async_resource_ref upstream,
                       const std::string& filename,
                       bool auto_flush);

  /// Logs to `stream`, which must outlive the adaptor.
  logging_adaptor_core(device_async_resource_ref upstream, std::ostream& stream, bool auto_flush);

  /// Logs to `sinks` (each row one message, the row alone: pattern "%v").
  logging_adaptor_core(device_async_resource_ref upstream,
                       std::vector<logging::sink_ptr> sinks,
                       bool auto_flush);

  /// Writes out what is still buffered and closes the file.
  ~logging_adaptor_core() override;

 private:
  static constexpr std::size_t buffer_capacity = std::size_t{64} << 10;
  /// Longer than the longest row: 20-digit thread id, time, "allocate failure", two 18-character
  /// hexadecimal handles and a 20-digit size, with separators.
  static constexpr std::size_t longest_row = 160;

  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  /// Buffers the CSV header (and writes it out at once with auto_flush).
  void start_with_header();
  /// Appends one row (and writes out per the flush policy); never throws.
  void log_event(std::string_view action,
                 const void* ptr,
                 std::size_t bytes,
                 cuda_stream_view stream) noexcept;
  /// Appends the time of day (HH:MM:SS.microseconds, local time). Needs mutex_.
  char* append_time_of_day(char* out) noexcept;
  /// Writes the buffer to the sink. Needs mutex_.
  void write_out_locked() noexcept;
  /// Writes [data, data + size) to the file or stream. Needs mutex_.
  void write_to_sink(const char* data, std::size_t size) noexcept;

  /// Blocks whose free was logged ahead (log_free_ahead), and how many: the common case, none,
  /// costs one load per free.
  std::unordered_set<const void*> freed_ahead_;
  std::atomic<std::size_t> freed_ahead_count_{0};
  int file_descriptor_{-1};                  ///< the log file, when the adaptor opened one
  std::ostream* stream_{nullptr};            ///< the caller's stream
  std::unique_ptr<logging::logger> logger_;  ///< or a logger over the caller's sinks
  bool auto_flush_;
  bool write_failed_{false};  ///< a failed write was reported already
  std::mutex mutex_;
  std::unique_ptr<char[]> buffer_;
  std::size_t buffered_{0};
  std::int64_t cached_second_{-1};  ///< the second since the epoch whose time of day is cached
  char cached_time_of_day_[8]{};    ///< HH:MM:SS of cached_second_
};

}  // namespace detail

/**
 * @brief Passes every allocation to an upstream resource and logs it as a CSV row.
 *
 * The first line is the header `Thread,Time,Action,Pointer,Size,Stream`; then one row per
 * event, exactly as RMM writes them (its `%t,%H:%M:%S.%f` prefix and printf/ostream fields):
 *
 *     <thread>,<time>,<action>,<pointer>,<size>,<stream>
 *
 * - thread: the kernel thread id (gettid), in decimal;
 * - time: local time of day, `HH:MM:SS.uuuuuu` (microseconds, six digits);
 * - action: `allocate`, `allocate failure` or `free`;
 * - pointer: `0x` and lower-case hexadecimal; a null pointer (the row of a failed allocation)
 *   is written `(nil)`, as glibc's printf writes it in RMM's logs (RMM's parser reads both
 *   `(nil)` and `0x0`);
 * - size: the bytes requested, in decimal;
 * - stream: the `cudaStream_t` as an ostream writes a pointer in hexadecimal, as RMM does:
 *   `0x` and lower-case hexadecimal, and `0` for the default stream (null handle).
 *
 * A failed allocation writes its `allocate failure` row and rethrows. A free is logged before
 * the upstream frees, so a later allocation of the same address always comes after it in the
 * log.
 *
 * Construction forms: (upstream, filename = get_default_filename(), auto_flush = false) and
 * (upstream, std::ostream&, auto_flush = false), each with `Upstream*`, `Upstream&` (the type is
 * deduced: `logging_resource_adaptor log{cuda_mr, "log.csv"}`) or a `device_async_resource_ref`.
 * The file is truncated when opened. Rows are buffered: call flush() to see them before the
 * adaptor is destroyed, or pass auto_flush = true (slower). Thread safe. Two logging adaptors
 * compare equal when their upstreams do (RMM's rule).
 *
 * @tparam Upstream the upstream resource's type (the adaptor holds a reference to it)
 */
template <typename Upstream>
class logging_resource_adaptor final : public detail::logging_adaptor_core {
 public:
  /**
   * @brief Logs allocations from `*upstream` to the file `filename`, truncated first.
   * @throws gpumem::logic_error when `upstream` is null, when no file name is given and the
   *         environment names none, or when the file cannot be opened
   */
  explicit logging_resource_adaptor(Upstream* upstream,
                                    const std::string& filename = get_default_filename(),
                                    bool auto_flush = false)
      : logging_adaptor_core{detail::upstream_ref_checked(upstream, "logging_resource_adaptor"),
                             filename,
                             auto_flush} {}

  /// Logs allocations from `*upstream` to `stream`. @throws gpumem::logic_error when `upstream` is
  /// null
  logging_resource_adaptor(Upstream* upstream, std::ostream& stream, bool auto_flush = false)
      : logging_adaptor_core{detail::upstream_ref_checked(upstream, "logging_resource_adaptor"),
                             stream,
                             auto_flush} {}

  /// Logs allocations from `*upstream` to `sink` (RMM's rapids_logger sinks). @throws
  /// gpumem::logic_error when `upstream` is null
  logging_resource_adaptor(Upstream* upstream, logging::sink_ptr sink, bool auto_flush = false)
      : logging_adaptor_core{detail::upstream_ref_checked(upstream, "logging_resource_adaptor"),
                             std::vector<logging::sink_ptr>{std::move(sink)},
                             auto_flush} {}

  /// Logs allocations from `*upstream` to every sink of `sinks`. @throws gpumem::logic_error
  /// when `upstream` is null
  logging_resource_adaptor(Upstream* upstream,
                           std::initializer_list<logging::sink_ptr> sinks,
                           bool auto_flush = false)
      : logging_adaptor_core{detail::upstream_ref_checked(upstream, "logging_resource_adaptor"),
                             std::vector<logging::sink_ptr>{sinks},
                             auto_flush} {}

  /// @copydoc logging_resource_adaptor(Upstream*, const std::string&, bool)
  explicit logging_resource_adaptor(
      Upstream& upstream,
      const std::string& filename = get_default_filename(),
      bool auto_flush = false) requires(!detail::is_device_async_resource_ref_v<Upstream>)
      : logging_adaptor_core{device_async_resource_ref{upstream}, filename, auto_flush} {}

  /// Logs allocations from `upstream` to `stream`.
  logging_resource_adaptor(
      Upstream& upstream,
      std::ostream& stream,
      bool auto_flush = false) requires(!detail::is_device_async_resource_ref_v<Upstream>)
      : logging_adaptor_core{device_async_resource_ref{upstream}, stream, auto_flush} {}

  /// @copydoc logging_resource_adaptor(Upstream*, const std::string&, bool)
  explicit logging_resource_adaptor(device_async_resource_ref upstream,
                                    const std::string& filename = get_default_filename(),
                                    bool auto_flush = false)
      : logging_adaptor_core{upstream, filename, auto_flush} {}

  /// Logs allocations from the resource `upstream` refers to, to `stream`.
  logging_resource_adaptor(device_async_resource_ref upstream,
                           std::ostream& stream,
                           bool auto_flush = false)
      : logging_adaptor_core{upstream, stream, auto_flush} {}

  /// Logs allocations from the resource `upstream` refers to, to `sink`.
  logging_resource_adaptor(device_async_resource_ref upstream,
                           logging::sink_ptr sink,
                           bool auto_flush = false)
      : logging_adaptor_core{
            upstream, std::vector<logging::sink_ptr>{std::move(sink)}, auto_flush} {}

  /// Logs allocations from the resource `upstream` refers to, to every sink of `sinks`.
  logging_resource_adaptor(device_async_resource_ref upstream,
                           std::initializer_list<logging::sink_ptr> sinks,
                           bool auto_flush = false)
      : logging_adaptor_core{upstream, std::vector<logging::sink_ptr>{sinks}, auto_flush} {}
};

/// `logging_resource_adaptor log{cuda_mr, ...}` deduces the upstream's type.
template <typename Upstream, typename... Args>
requires(!detail::is_device_async_resource_ref_v<Upstream>)
    logging_resource_adaptor(Upstream&, Args&&...)
->logging_resource_adaptor<Upstream>;
/// `logging_resource_adaptor log{&cuda_mr, ...}` deduces the upstream's type.
template <typename Upstream, typename... Args>
logging_resource_adaptor(Upstream*, Args&&...) -> logging_resource_adaptor<Upstream>;
/// An adaptor over a resource reference.
template <typename... Args>
logging_resource_adaptor(device_async_resource_ref, Args&&...)
    -> logging_resource_adaptor<device_memory_resource>;

}  // namespace gpumem::mr
