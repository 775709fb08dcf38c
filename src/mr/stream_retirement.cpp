#include "mr/stream_retirement.hpp"

#include <map>
#include <mutex>

#include "gpumem/stream_destroyed.hpp"

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

void stream_retirement::retire(cudaStream_t stream) noexcept {
  std::lock_guard lock(registry().mutex);
  for (auto& [id, on_retire] : registry().all) {
    try {
      on_retire(stream);
    } catch (...) {
      // A listener that cannot record its event falls back to a device barrier when needed.
    }
  }
}

}  // namespace gpumem::mr::detail

namespace gpumem {

void notify_stream_destroyed(cudaStream_t stream) noexcept {
  mr::detail::stream_retirement::retire(stream);
}

}  // namespace gpumem
