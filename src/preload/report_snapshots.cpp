#include "preload/report_snapshots.hpp"

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
    : interval_{interval}, signal_{signal}, write_{std::move(write)} {
  sem_init(&wake_up, 0, 0);
  if (signal_ != 0) {
    struct sigaction action {};
    action.sa_sigaction = &report_snapshots::on_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(signal_, &action, &previous_action) != 0) signal_ = 0;
  }
  thread_ = std::thread([this] { run(); });
}

report_snapshots::~report_snapshots() {
  stop();
}

void report_snapshots::stop() {
  if (stopping_.exchange(true)) return;
  sem_post(&wake_up);
  if (thread_.joinable()) thread_.join();
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
      timespec deadline{};
      clock_gettime(CLOCK_REALTIME, &deadline);
      deadline.tv_sec += static_cast<std::time_t>(interval_.count());
      do {
        woken = sem_timedwait(&wake_up, &deadline);
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
