#include "preload/report_snapshots.hpp"

#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace gpumem::preload {
namespace {

/// Posted by the signal handler and by stop(); the snapshot thread waits on it.
sem_t wake_up;
/// How the program handled the signal before: called after ours.
struct sigaction previous_action {};

}  // namespace

report_snapshots::report_snapshots(std::chrono::seconds interval,
                                   int signal,
                                   std::function<void(report_moment)> write)
    : interval_{std::min(interval, kLongestInterval)}, signal_{signal}, write_{std::move(write)} {
  sem_init(&wake_up, 0, 0);
  if (signal_ != 0) {
    struct sigaction action {};
    action.sa_sigaction = &report_snapshots::on_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    struct sigaction before {};
    if (sigaction(signal_, &action, &before) != 0) {
      signal_ = 0;
    } else if ((before.sa_flags & SA_SIGINFO) == 0 ||
               before.sa_sigaction != &report_snapshots::on_signal) {
      // (Already ours in a child after fork: the program's handler stays the one to chain to.)
      previous_action = before;
    }
  }
  // The thread takes no signal: the program's handlers run on its own threads, as before.
  sigset_t all;
  sigset_t kept;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &kept);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &kept, nullptr);
}

report_snapshots::~report_snapshots() {
  stop();
}

void report_snapshots::stop() noexcept {
  if (stopping_.exchange(true)) return;
  sem_post(&wake_up);
  // exit() called from a report (a handler of the program's, say) cannot wait for itself.
  if (!thread_.joinable() || thread_.get_id() == std::this_thread::get_id()) return;
  try {
    thread_.join();
  } catch (...) {
    // The thread is gone already.
  }
}

void report_snapshots::on_signal(int signal, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  sem_post(&wake_up);
  errno = saved_errno;
  // The program's own handler, if it had one before the shim's.
  if ((previous_action.sa_flags & SA_SIGINFO) != 0) {
    if (previous_action.sa_sigaction != nullptr)
      previous_action.sa_sigaction(signal, info, context);
  } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN &&
             previous_action.sa_handler != nullptr) {
    previous_action.sa_handler(signal);
  }
}

void report_snapshots::run() {
  while (!stopping_.load()) {
    int woken = 0;
    if (interval_.count() > 0) {
      // A monotonic deadline: setting the clock back does not delay a snapshot.
      timespec deadline{};
      clock_gettime(CLOCK_MONOTONIC, &deadline);
      deadline.tv_sec += static_cast<std::time_t>(interval_.count());
      do {
        woken = sem_clockwait(&wake_up, CLOCK_MONOTONIC, &deadline);
      } while (woken != 0 && errno == EINTR);
    } else {
      do {
        woken = sem_wait(&wake_up);
      } while (woken != 0 && errno == EINTR);
    }
    if (stopping_.load()) return;
    if (woken != 0 && errno != ETIMEDOUT) return;  // the semaphore is broken: no more reports
    write_(woken == 0 ? report_moment::on_request : report_moment::snapshot);
  }
}

}  // namespace gpumem::preload
