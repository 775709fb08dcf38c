#pragma once
// What an allocation log says about a program's memory: peak in use and when, sizes, streams,
// threads, blocks still allocated at the end, and the timeline of bytes in use (gpumem report).

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "cli/allocation_log.hpp"

namespace gpumem::cli {

/// Allocations of sizes up to `largest` bytes (and above the previous class).
struct size_class {
  std::size_t largest;
  std::size_t allocations = 0;
  std::size_t bytes = 0;
};

/// One stream's share of the log.
struct stream_share {
  std::size_t allocations = 0;
  std::size_t bytes = 0;
  std::size_t peak_in_use = 0;  ///< the most bytes allocated on it and not yet freed
};

/// A block still allocated when the log ends.
struct outstanding_block {
  std::uintptr_t pointer;
  std::size_t size;
  double allocated_at;  ///< seconds since the first row
  std::uint64_t thread;
  std::uintptr_t stream;
};

/// The bytes in use at a time (seconds since the first row).
struct timeline_point {
  double time;
  std::size_t in_use;
};

/// A log summarized.
struct log_summary {
  std::size_t allocations = 0;
  std::size_t frees = 0;
  std::size_t failed = 0;
  std::size_t bytes_allocated = 0;  ///< in all, over the log
  double duration = 0;              ///< seconds from the first row to the last event
  std::size_t peak_in_use = 0;
  double peak_time = 0;
  std::vector<size_class> sizes;                   ///< power-of-two classes that occur
  std::map<std::uintptr_t, stream_share> streams;  ///< by stream handle
  std::map<std::uint64_t, std::size_t> threads;    ///< allocations by thread
  std::vector<outstanding_block> outstanding;      ///< oldest first
  std::size_t outstanding_bytes = 0;
  std::vector<timeline_point> timeline;  ///< at most the points asked for, each bucket's peak
  std::vector<double> failures;          ///< when allocations failed
};

/**
 * @brief Summarizes `log`; the timeline keeps every event when there are at most
 * `timeline_points`, else the highest point of each of that many equal time buckets (so the
 * peak is always in it).
 */
log_summary summarize(const allocation_log& log, std::size_t timeline_points = 2000);

}  // namespace gpumem::cli
