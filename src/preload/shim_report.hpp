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
#include "preload/stack_counters.hpp"

namespace gpumem::preload {

class shim_log;

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
std::string device_report_line(const config::built_stack& stack, const counter_totals& counters);

/// One stack in the report: the device's, or its managed stack.
struct stack_report {
  const config::built_stack* stack = nullptr;
  counter_totals counters;
};

/// One device in the report.
struct device_report {
  int device;
  std::uint64_t total_bytes;
  stack_report device_stack;
  stack_report managed_stack;           ///< its stack is null before the first managed allocation
  std::size_t quarantined_blocks = 0;   ///< freed by the program, waiting for a device barrier
  std::size_t quarantined_bytes = 0;    ///< their bytes (the stack's layers still count them)
  std::size_t background_barriers = 0;  ///< barriers the shim's barrier thread ran
};

/// Why a report is written.
enum class report_moment { at_exit, snapshot, on_request };

/**
 * @brief The report's content: per device its stack's counts, sizes, peak and when, every
 * layer's figures, blocks still allocated (with a tracking layer), and the managed stack
 * apart; then what went to CUDA before any stack.
 */
core::report_node build_report(const std::vector<device_report>& devices,
                               const counter_totals& process_pass_throughs,
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
