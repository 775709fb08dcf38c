#pragma once

/**
 * @file spin_lock.hpp
 * @brief A lock for critical sections of a few dozen nanoseconds (the fast paths of the
 * sub-allocators and the statistics counters).
 */

#include <atomic>
#include <thread>

namespace gpumem::detail {

/**
 * @brief A test-and-test-and-set spin lock: taking it is one atomic exchange, releasing it a
 * plain store, about half the cost of std::mutex uncontended. A waiter spins on a load (with
 * the CPU's pause hint) and yields its time slice after a short while, so a holder that lost
 * its CPU, or is in a slow path (a new slab from CUDA), is not starved by spinning waiters.
 * Meets the Lockable requirements (std::lock_guard works with it).
 */
class spin_lock {
 public:
  /// Waits until the lock is free and takes it.
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire))
      wait_until_free();
  }
  /// Takes the lock if it is free.
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  /// Releases the lock.
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  /// Out of line: the uncontended lock() stays an exchange and a branch where it is inlined.
  [[gnu::noinline, gnu::cold]] void wait_until_free() noexcept {
    // The holder needs a few nanoseconds; after this many looks it has probably lost its CPU.
    constexpr int spins_before_yielding = 64;
    int spins = 0;
    while (locked_.load(std::memory_order_relaxed)) {
      if (++spins < spins_before_yielding) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      } else {
        std::this_thread::yield();
      }
    }
  }

  std::atomic<bool> locked_{false};
};

}  // namespace gpumem::detail
