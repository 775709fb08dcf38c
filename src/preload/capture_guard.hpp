#pragma once
// Keeps the barrier thread's device barriers out of the program's stream captures. CUDA
// invalidates a capture when any thread synchronizes the device while it runs, whatever that
// thread's capture mode (tests/cuda/test_driver_api.cpp shows it on the GPU). A barrier on the
// freeing thread comes inside a cudaFree the program made, which CUDA forbids during a capture
// too; the barrier thread's comes at a time the program did not choose, so it must not come
// while a capture runs.

#include <atomic>
#include <cstdint>
#include <thread>

namespace gpumem::preload {

/**
 * @brief Counts the captures in progress and the background barriers in progress, so that
 * neither starts while the other runs: a barrier that finds a capture in progress does not
 * run, and a capture that begins while a barrier runs waits for it to end. (Both sides announce
 * themselves before they look at the other, so at least one of them sees the other.) Thread
 * safe; one per process.
 */
class capture_guard {
 public:
  /// Before the driver is asked to begin a capture: waits for a background barrier running now.
  void capture_beginning() noexcept {
    captures_.fetch_add(1);
    while (barriers_.load() != 0)
      std::this_thread::yield();
  }
  /// The driver refused to begin the capture announced by capture_beginning().
  void capture_not_begun() noexcept { capture_ended(); }
  /// A capture ended (its stream captures no more).
  void capture_ended() noexcept {
    std::int64_t now = captures_.load();
    while (now > 0 && !captures_.compare_exchange_weak(now, now - 1)) {
    }
  }

  /// Captures in progress.
  [[nodiscard]] std::int64_t captures() const noexcept { return captures_.load(); }

  /**
   * @brief Runs `barrier()` unless a capture is in progress.
   * @return what `barrier()` returned; false when it did not run
   */
  template <typename Barrier>
  bool barrier_unless_capturing(Barrier&& barrier) {
    barriers_.fetch_add(1);
    struct done_on_exit {
      std::atomic<int>& barriers;
      ~done_on_exit() { barriers.fetch_sub(1); }
    } done{barriers_};
    if (captures_.load() != 0) return false;
    return barrier();
  }

 private:
  std::atomic<std::int64_t> captures_{0};
  std::atomic<int> barriers_{0};
};

}  // namespace gpumem::preload
