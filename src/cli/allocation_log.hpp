#pragma once
// An allocation log as the logging layer (and RMM's logging_resource_adaptor) writes it:
// "Thread,Time,Action,Pointer,Size,Stream" rows of allocate, free and allocate failure.

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace gpumem::cli {

/// One row of an allocation log that replay acts on.
struct log_event {
  bool allocate;           ///< allocate; false: free
  std::uint64_t thread;    ///< the thread that made the call
  std::uintptr_t pointer;  ///< the address the program got (a key: replays get their own)
  std::size_t size;
  std::uintptr_t stream;  ///< the stream handle (0: the default stream)
  double time;            ///< seconds since the log's first row
};

/// A log's events in order, and what was learned reading it.
struct allocation_log {
  std::vector<log_event> events;
  std::size_t failed_allocations = 0;  ///< "allocate failure" rows (not replayed)
  std::size_t peak_requested = 0;      ///< the most bytes live at once, as logged
  std::size_t threads = 0;             ///< distinct threads
  std::size_t streams = 0;             ///< distinct streams
  std::vector<double> failure_times;   ///< when allocations failed (seconds since the first row)
};

/**
 * @brief Reads a log.
 * @param name the log's name for messages
 * @throws std::runtime_error naming `name`, the line and what is wrong, for a missing or wrong
 *         header, a malformed row, a free of an address not allocated, or an address allocated
 *         twice
 */
allocation_log read_allocation_log(std::istream& in, const std::string& name);

}  // namespace gpumem::cli
