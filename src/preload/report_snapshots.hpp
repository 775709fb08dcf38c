#pragma once
// Reports while the program runs: a job killed by its scheduler (SIGTERM, then SIGKILL) or
// one that aborts leaves the last snapshot, at most `report_interval` seconds old; a signal the
// user names asks for a report at once.

#include <semaphore.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "preload/shim_report.hpp"

namespace gpumem::preload {

/**
 * @brief Calls `write` from a thread of its own every `interval` (snapshot) and whenever
 * `signal` arrives (on_request). The signal handler only posts a semaphore (async-signal-safe)
 * and then calls the handler the program had installed before, if any; everything else runs on
 * the thread, which blocks every signal. One per process.
 */
class report_snapshots {
 public:
  /**
   * @param interval time between snapshots; zero for none
   * @param signal the signal that asks for a report (SIGUSR1, ...); 0 for none
   * @param write writes the report; called on the snapshot thread only
   */
  report_snapshots(std::chrono::seconds interval,
                   int signal,
                   std::function<void(report_moment)> write);
  /// Stops the thread (see stop()).
  ~report_snapshots();
  report_snapshots(const report_snapshots&) = delete;
  report_snapshots& operator=(const report_snapshots&) = delete;
  report_snapshots(report_snapshots&&) = delete;
  report_snapshots& operator=(report_snapshots&&) = delete;

  /// Waits for a report being written, then ends the thread; no report follows. Idempotent;
  /// from the snapshot thread itself (exit() inside a report), only asks it to end.
  void stop() noexcept;

  /// Intervals above a year count as a year (a deadline stays representable).
  static constexpr std::chrono::seconds kLongestInterval{std::chrono::hours{24 * 365}};

 private:
  static void on_signal(int signal, siginfo_t* info, void* context);
  void run();

  std::chrono::seconds interval_;
  int signal_;
  std::function<void(report_moment)> write_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace gpumem::preload
