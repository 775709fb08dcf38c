#pragma once
// A thread of the shim's that runs a device's quarantine barriers when asked, so that a thread
// freeing memory while the device runs far behind it does not wait for the device itself (a
// device barrier waits for every queued kernel; the program's host thread would stop queueing
// meanwhile, and the device would run dry once the barrier returns).

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace gpumem::preload {

/**
 * @brief Runs `barrier` on a thread of its own, once per request; requests made while one
 * waits to run are one request. The thread starts at the first request and takes no signal
 * (the program's handlers run on the program's threads). Thread safe.
 */
class barrier_thread {
 public:
  /// @param barrier the work of one request (a device barrier and its bookkeeping); called on
  ///        the thread only, never concurrently with itself; must not throw
  explicit barrier_thread(std::function<void()> barrier);
  /// Stops the thread (see stop()).
  ~barrier_thread();
  barrier_thread(const barrier_thread&) = delete;
  barrier_thread& operator=(const barrier_thread&) = delete;
  barrier_thread(barrier_thread&&) = delete;
  barrier_thread& operator=(barrier_thread&&) = delete;

  /**
   * @brief Asks for one run of the barrier, without waiting for it; starts the thread on the
   * first request.
   * @return false when no thread can run it (stopped, or no thread could be created): the
   *         caller runs the barrier itself
   */
  bool request() noexcept;

  /// Waits for a run in progress, then ends the thread; later requests return false.
  /// Idempotent.
  void stop() noexcept;

  /// Runs of the barrier so far.
  [[nodiscard]] std::size_t runs() const;

 private:
  void run();

  std::function<void()> barrier_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  bool failed_to_start_ = false;
  std::size_t runs_ = 0;
  std::thread thread_;
};

}  // namespace gpumem::preload
