#pragma once
// Keeps the barrier thread's device barriers out of the program's stream captures. CUDA
// invalidates a capture when any thread synchronizes the device while it runs, whatever that
// thread's capture mode (tests/cuda/test_driver_api.cpp shows it on the GPU). A barrier on the
// freeing thread comes inside a cudaFree the program made, which CUDA forbids during a capture
// too; the barrier thread's comes at a time the program did not choose, so it must not come
// while a capture runs.

#include <atomic>
#include <thread>

namespace gpumem::preload {

/**
 * @brief Once the program begins a stream capture, the barrier thread runs no more barriers,
 * and a capture that begins while one runs waits for it to end. (Both sides announce
 * themselves before they look at the other, so at least one of them sees the other.)
 *
 * For the rest of the process, not only while the capture runs: an end the shim could miss (a
 * device reset, a capture begun through an entry point it does not hook) can then never let a
 * barrier break a capture, and a capture waits for the device at most once. Thread safe; one
 * per process.
 */
class capture_guard {
 public:
  /// Before the driver is asked to begin a capture: waits for a background barrier running now.
  void capture_beginning() noexcept {
    captured_.store(true);
    while (barriers_.load() != 0)
      std::this_thread::yield();
  }

  /// Whether the program began a capture.
  [[nodiscard]] bool captured() const noexcept { return captured_.load(); }

  /**
   * @brief Runs `barrier()` unless the program began a capture.
   * @return what `barrier()` returned; false when it did not run
   */
  template <typename Barrier>
  bool barrier_unless_capturing(Barrier&& barrier) {
    barriers_.fetch_add(1);
    struct done_on_exit {
      std::atomic<int>& barriers;
      ~done_on_exit() { barriers.fetch_sub(1); }
    } done{barriers_};
    if (captured_.load()) return false;
    return barrier();
  }

  /// In a child after fork: no barrier of the parent's runs in it, and the child's own
  /// captures count from now.
  void reset_after_fork() noexcept {
    captured_.store(false);
    barriers_.store(0);
  }

 private:
  std::atomic<bool> captured_{false};
  std::atomic<int> barriers_{0};
};

}  // namespace gpumem::preload
