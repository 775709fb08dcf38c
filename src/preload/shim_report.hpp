#pragma once
// What the shim counts per device, what its stacks hold, and the report at exit (a text table
// or JSON).

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "config/stack_builder.hpp"
#include "core/report_tree.hpp"

namespace gpumem::preload {

class shim_log;

/// Allocations served by one stack, and what went past it.
struct shim_counters {
  /// Size classes of the allocations: up to 4 KiB, 64 KiB, 1 MiB, 16 MiB, 256 MiB, 4 GiB, more.
  static constexpr std::size_t kSizeClasses = 7;

  std::atomic<std::uint64_t> allocations{0};
  std::atomic<std::uint64_t> frees{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> pass_throughs{0};
  std::atomic<std::uint64_t> barriers{0};
  std::atomic<std::uint64_t> trims{0};
  std::atomic<std::uint64_t> bytes_total{0};
  std::atomic<std::int64_t> bytes_current{0};
  std::atomic<std::int64_t> bytes_peak{0};
  /// When bytes_peak was reached: nanoseconds since the shim was loaded.
  std::atomic<std::int64_t> peak_time_ns{0};
  std::array<std::atomic<std::uint64_t>, kSizeClasses> size_classes{};

  void record_allocation(std::size_t bytes) noexcept;
  void record_free(std::size_t bytes) noexcept;
  void record_failure() noexcept { failures.fetch_add(1, std::memory_order_relaxed); }
  void record_pass_through() noexcept { pass_throughs.fetch_add(1, std::memory_order_relaxed); }
  /// Takes over the counts of a stack that went with a device reset (its memory, and so its
  /// current bytes, went with it).
  void carry_over(const shim_counters& retired) noexcept;

  /// The size class of an allocation of `bytes` (index into size_classes).
  static std::size_t size_class(std::size_t bytes) noexcept;
  /// A size class's name in reports ("up_to_4_KiB", ..., "over_4_GiB").
  static const char* size_class_name(std::size_t index) noexcept;
};

/// Nanoseconds since the shim was loaded (about when the program started).
std::int64_t nanoseconds_since_load() noexcept;

/// Memory a stack holds without handing it out, and its limit.
struct held_memory {
  std::size_t reserved = 0;        ///< taken from CUDA by sub-allocators
  std::size_t free_in_stack = 0;   ///< of which not handed out
  std::size_t largest_free = 0;    ///< the largest free block
  std::size_t limit = 0;           ///< a limit layer's size (0: none)
  std::size_t limited_in_use = 0;  ///< bytes counted against the limit
};

/// What a stack holds (its pool or arena layer, its limit layer).
held_memory memory_held(const config::built_stack& stack);

/// Blocks still allocated that were made at one place (one stack trace).
struct leak_site {
  std::string trace;  ///< the frames, one per line ("" without stack traces)
  std::size_t blocks = 0;
  std::size_t bytes = 0;
};

/**
 * @brief The blocks a tracking layer of `stack` holds as allocated, grouped by where they were
 * allocated, the most bytes first; empty without a tracking layer.
 */
std::vector<leak_site> leaks_by_site(const config::built_stack& stack);

/// One line on a stack's state: "reserved 1.0 GiB, in use 512 MiB, largest free block 256 MiB".
std::string device_report_line(const config::built_stack& stack, const shim_counters& counters);

/// One stack in the report: the device's, or its managed stack.
struct stack_report {
  const config::built_stack* stack = nullptr;
  const shim_counters* counters = nullptr;
};

/// One device in the report.
struct device_report {
  int device;
  std::uint64_t total_bytes;
  stack_report device_stack;
  stack_report managed_stack;          ///< its stack is null before the first managed allocation
  std::size_t quarantined_blocks = 0;  ///< freed by the program, waiting for a device barrier
  std::size_t quarantined_bytes = 0;   ///< their bytes (the stack's layers still count them)
};

/// Why a report is written.
enum class report_moment { at_exit, snapshot, on_request };

/**
 * @brief The report's content: per device its stack's counts, sizes, peak and when, every
 * layer's figures, blocks still allocated (with a tracking layer), and the managed stack
 * apart; then what went to CUDA before any stack.
 */
core::report_node build_report(const std::vector<device_report>& devices,
                               const shim_counters& process_pass_throughs,
                               report_moment moment);

/**
 * @brief Writes `report` as `kind` text or json to `file` ("" or "stderr": stderr for text,
 * gpumem-report-{pid}.json for JSON; {pid} is the process id). A regular file is written whole
 * under a temporary name of this process's and renamed, so a reader (or a job killed meanwhile)
 * never sees half of one; anything else (/dev/stderr, a pipe) is written as it is.
 * @return the path written ("stderr"/"stdout" for those), or "" when it could not be written
 *         (said in the log)
 */
std::string write_report(const std::string& kind,
                         const std::string& file,
                         const core::report_node& report,
                         shim_log& log);

}  // namespace gpumem::preload
