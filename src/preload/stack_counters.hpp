#pragma once
// What the shim counts for one stack: allocations, frees, bytes in use and their peak, sizes.
// Counted per thread (each thread writes its own counts, sharing no cache line with the others)
// and summed when a report asks.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/per_thread.hpp"

namespace gpumem::preload {

/// A stack's counts at one moment (summed over threads), as the report shows them.
struct counter_totals {
  /// Size classes of the allocations: up to 4 KiB, 64 KiB, 1 MiB, 16 MiB, 256 MiB, 4 GiB, more.
  static constexpr std::size_t kSizeClasses = 7;

  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  std::uint64_t failures = 0;
  std::uint64_t pass_throughs = 0;
  std::uint64_t barriers = 0;
  std::uint64_t trims = 0;
  std::uint64_t bytes_total = 0;
  std::int64_t bytes_current = 0;
  std::int64_t bytes_peak = 0;
  /// When bytes_peak was reached: nanoseconds since the shim was loaded.
  std::int64_t peak_time_ns = 0;
  std::array<std::uint64_t, kSizeClasses> size_classes{};

  /// The size class of an allocation of `bytes` (index into size_classes).
  static std::size_t size_class(std::size_t bytes) noexcept;
  /// A size class's name in reports ("up_to_4_KiB", ..., "over_4_GiB").
  static const char* size_class_name(std::size_t index) noexcept;
};

/// Nanoseconds since the shim was loaded (about when the program started).
std::int64_t nanoseconds_since_load() noexcept;

/**
 * @brief The live counts of one stack. Thread safe; recording costs no read-modify-write of
 * memory another thread writes, except when bytes in use change by a step (1 MiB) or more.
 *
 * Bytes in use: each thread keeps what it allocated minus what it freed, below 1 MiB either
 * way, to itself, and adds the rest to the shared count. A new peak is the shared count plus
 * the thread's own bytes: exact for a program with one allocating thread, and otherwise off
 * by less than 1 MiB per other thread (either way: a thread may free what another allocated).
 * The report's bytes in use add every thread's own bytes, so they are exact when no thread is
 * counting at that moment.
 */
class stack_counters {
 public:
  /// Bytes in use a thread keeps to itself before publishing them.
  static constexpr std::int64_t kPublishStep = std::int64_t{1} << 20;

  /// Counts an allocation (never throws: without host memory for the thread's counts, the
  /// call goes uncounted).
  void record_allocation(std::size_t bytes) noexcept;
  /// Counts a free (never throws, as record_allocation).
  void record_free(std::size_t bytes) noexcept;
  /// Counts an allocation that failed (never throws).
  void record_failure() noexcept;
  void record_pass_through() noexcept {
    shared_pass_throughs_.fetch_add(1, std::memory_order_relaxed);
  }
  void record_barrier() noexcept { barriers_.fetch_add(1, std::memory_order_relaxed); }
  void record_trim() noexcept { trims_.fetch_add(1, std::memory_order_relaxed); }

  /// Starts from the counts of a stack that went with a device reset (its memory, and so its
  /// bytes in use, went with it). Before any recording.
  void carry_over(const counter_totals& retired) noexcept;

  /// The counts now, summed over threads.
  [[nodiscard]] counter_totals totals() const;

 private:
  /// One thread's counts: written by that thread alone (a load and a store, no locked
  /// instruction), read by totals().
  struct thread_counts {
    std::atomic<std::uint64_t> allocations{0};
    std::atomic<std::uint64_t> frees{0};
    std::atomic<std::uint64_t> failures{0};
    std::atomic<std::uint64_t> bytes_total{0};
    std::atomic<std::int64_t> unpublished{0};
    std::array<std::atomic<std::uint64_t>, counter_totals::kSizeClasses> size_classes{};
  };

  /// The calling thread's counts; null without host memory for them.
  thread_counts* mine() noexcept;

  /// Publishes the thread's bytes in use when they reach a step; returns the bytes in use as
  /// this thread sees them (the shared count and its own).
  std::int64_t add_in_use(thread_counts& mine, std::int64_t change) noexcept;

  core::per_thread<thread_counts> threads_;
  alignas(64) std::atomic<std::int64_t> published_{0};
  alignas(64) std::atomic<std::int64_t> peak_{0};
  std::atomic<std::int64_t> peak_time_ns_{0};
  std::atomic<std::uint64_t> shared_pass_throughs_{0};
  std::atomic<std::uint64_t> barriers_{0};
  std::atomic<std::uint64_t> trims_{0};
  counter_totals carried_;  ///< from stacks set aside by device resets
};

}  // namespace gpumem::preload
