#include "mr/stream_retirement.hpp"

#include <map>
#include <mutex>

#include "gpumem/stream_destroyed.hpp"
#include "mr/thread_token.hpp"

namespace gpumem::mr::detail {
namespace {

struct listeners {
  std::mutex mutex;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, stream_retirement::listener> all;
};

listeners& registry() {
  static auto* instance = new listeners();  // never destroyed: resources outlive static destructors
  return *instance;
}

}  // namespace

std::uint64_t stream_retirement::subscribe(listener on_retire) {
  std::lock_guard lock(registry().mutex);
  const std::uint64_t id = registry().next_id++;
  registry().all.emplace(id, std::move(on_retire));
  return id;
}

void stream_retirement::unsubscribe(std::uint64_t id) noexcept {
  std::lock_guard lock(registry().mutex);
  registry().all.erase(id);
}

namespace {

void tell_everyone(const retirement_notice& what) noexcept {
  std::lock_guard lock(registry().mutex);
  for (auto& [id, on_retire] : registry().all) {
    try {
      on_retire(what);
    } catch (...) {
      // A listener that cannot record its event falls back to a device barrier when needed.
    }
  }
}

/// Destroyed when its thread ends: tells the listeners that the thread's per-thread default
/// stream goes with it.
struct thread_end_notice {
  bool armed = false;
  ~thread_end_notice() {
    if (armed) tell_everyone(retirement_notice{nullptr, this_thread_token()});
  }
};

}  // namespace

void stream_retirement::retire(cudaStream_t stream) noexcept {
  tell_everyone(retirement_notice{stream, 0});
}

void stream_retirement::watch_this_thread() noexcept {
  thread_local thread_end_notice notice;
  notice.armed = true;
}

}  // namespace gpumem::mr::detail

namespace gpumem {

void notify_stream_destroyed(cudaStream_t stream) noexcept {
  mr::detail::stream_retirement::retire(stream);
}

}  // namespace gpumem
