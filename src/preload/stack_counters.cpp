#include "preload/stack_counters.hpp"

#include <algorithm>
#include <bit>
#include <chrono>

namespace gpumem::preload {

namespace {

/// When the preload was loaded: its static initialisation runs before the program's main.
const std::chrono::steady_clock::time_point loaded_at = std::chrono::steady_clock::now();

/// Adds to a counter only its thread writes.
template <typename Counter, typename Value>
void bump(Counter& counter, Value by) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace

std::int64_t nanoseconds_since_load() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              loaded_at)
      .count();
}

std::size_t counter_totals::size_class(std::size_t bytes) noexcept {
  // Classes of 16x: up to 2^12, 2^16, 2^20, 2^24, 2^28, 2^32 bytes, then everything larger.
  const int exponent = bytes <= 1 ? 0 : std::bit_width(bytes - 1);
  if (exponent <= 12) return 0;
  return std::min<std::size_t>(kSizeClasses - 1, static_cast<std::size_t>(exponent - 12 + 3) / 4);
}

const char* counter_totals::size_class_name(std::size_t index) noexcept {
  static constexpr const char* names[kSizeClasses] = {"up_to_4_KiB",
                                                      "up_to_64_KiB",
                                                      "up_to_1_MiB",
                                                      "up_to_16_MiB",
                                                      "up_to_256_MiB",
                                                      "up_to_4_GiB",
                                                      "over_4_GiB"};
  return index < kSizeClasses ? names[index] : "unknown";
}

stack_counters::thread_counts* stack_counters::mine() noexcept {
  try {
    return &threads_.local();
  } catch (...) {
    return nullptr;  // no host memory for this thread's counts: the call goes uncounted
  }
}

std::int64_t stack_counters::add_in_use(thread_counts& mine, std::int64_t change) noexcept {
  // A change of a step or more goes to the shared count alone, so what a thread keeps to
  // itself stays below a step (and a report read meanwhile is off by less than that).
  if (change >= kPublishStep || change <= -kPublishStep) {
    return published_.fetch_add(change, std::memory_order_relaxed) + change +
           mine.unpublished.load(std::memory_order_relaxed);
  }
  std::int64_t own = mine.unpublished.load(std::memory_order_relaxed) + change;
  if (own >= kPublishStep || own <= -kPublishStep) {
    const std::int64_t shared = published_.fetch_add(own, std::memory_order_relaxed) + own;
    mine.unpublished.store(0, std::memory_order_relaxed);
    return shared;
  }
  mine.unpublished.store(own, std::memory_order_relaxed);
  return published_.load(std::memory_order_relaxed) + own;
}

void stack_counters::record_allocation(std::size_t bytes) noexcept {
  thread_counts* counts = mine();
  if (counts == nullptr) return;
  bump(counts->allocations, 1U);
  bump(counts->bytes_total, bytes);
  bump(counts->size_classes[counter_totals::size_class(bytes)], 1U);
  const std::int64_t now = add_in_use(*counts, static_cast<std::int64_t>(bytes));
  std::int64_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak) {
    if (peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
      // Only a new peak reads the clock (two threads racing may leave the earlier one's time:
      // a moment when the peak was nearly reached).
      peak_time_ns_.store(nanoseconds_since_load(), std::memory_order_relaxed);
      break;
    }
  }
}

void stack_counters::record_free(std::size_t bytes) noexcept {
  thread_counts* counts = mine();
  if (counts == nullptr) return;
  bump(counts->frees, 1U);
  (void)add_in_use(*counts, -static_cast<std::int64_t>(bytes));
}

void stack_counters::record_failure() noexcept {
  if (thread_counts* counts = mine(); counts != nullptr) bump(counts->failures, 1U);
}

void stack_counters::carry_over(const counter_totals& retired) noexcept {
  carried_.allocations += retired.allocations;
  carried_.frees += retired.frees;
  carried_.failures += retired.failures;
  carried_.pass_throughs += retired.pass_throughs;
  carried_.barriers += retired.barriers;
  carried_.trims += retired.trims;
  carried_.bytes_total += retired.bytes_total;
  for (std::size_t i = 0; i < counter_totals::kSizeClasses; ++i)
    carried_.size_classes[i] += retired.size_classes[i];
  if (retired.bytes_peak > carried_.bytes_peak) {
    carried_.bytes_peak = retired.bytes_peak;
    carried_.peak_time_ns = retired.peak_time_ns;
  }
}

counter_totals stack_counters::totals() const {
  counter_totals sum = carried_;
  sum.bytes_current = published_.load(std::memory_order_relaxed);
  threads_.for_each([&](const thread_counts& each) {
    sum.allocations += each.allocations.load(std::memory_order_relaxed);
    sum.frees += each.frees.load(std::memory_order_relaxed);
    sum.failures += each.failures.load(std::memory_order_relaxed);
    sum.bytes_total += each.bytes_total.load(std::memory_order_relaxed);
    sum.bytes_current += each.unpublished.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < counter_totals::kSizeClasses; ++i)
      sum.size_classes[i] += each.size_classes[i].load(std::memory_order_relaxed);
  });
  sum.pass_throughs += shared_pass_throughs_.load(std::memory_order_relaxed);
  sum.barriers += barriers_.load(std::memory_order_relaxed);
  sum.trims += trims_.load(std::memory_order_relaxed);
  // A stack set aside by a reset may have peaked higher than this one has so far.
  const std::int64_t peak = peak_.load(std::memory_order_relaxed);
  if (peak >= sum.bytes_peak) {
    sum.bytes_peak = peak;
    sum.peak_time_ns = peak_time_ns_.load(std::memory_order_relaxed);
  }
  // The shared peak may lag the exact bytes in use by other threads' unpublished bytes.
  if (sum.bytes_current > sum.bytes_peak) {
    sum.bytes_peak = sum.bytes_current;
    sum.peak_time_ns = nanoseconds_since_load();
  }
  return sum;
}

}  // namespace gpumem::preload
