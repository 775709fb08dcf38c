#include "preload/barrier_thread.hpp"

#include <pthread.h>
#include <signal.h>

#include <utility>

namespace gpumem::preload {

barrier_thread::barrier_thread(std::function<void()> barrier) : barrier_{std::move(barrier)} {}

barrier_thread::~barrier_thread() {
  stop();
}

bool barrier_thread::request() noexcept {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || failed_to_start_) return false;
    if (!thread_.joinable()) {
      // The thread takes no signal: it inherits a full mask.
      sigset_t all;
      sigset_t kept;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &kept);
      try {
        thread_ = std::thread([this] { run(); });
      } catch (...) {
        failed_to_start_ = true;  // (no thread, or no memory for one)
      }
      pthread_sigmask(SIG_SETMASK, &kept, nullptr);
      if (failed_to_start_) return false;
    }
    if (requested_) return true;  // one is waiting to run: it covers this request too
    requested_ = true;
  }
  wake_.notify_one();
  return true;
}

void barrier_thread::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (!thread_.joinable() || thread_.get_id() == std::this_thread::get_id()) return;
  try {
    thread_.join();
  } catch (...) {
    // The thread is gone already.
  }
}

std::size_t barrier_thread::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

void barrier_thread::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return requested_ || stopping_; });
    if (stopping_) return;
    requested_ = false;  // a request from now on is a new one
    lock.unlock();
    barrier_();
    lock.lock();
    ++runs_;
  }
}

}  // namespace gpumem::preload
