#pragma once

#include <atomic>
#include <cstdint>

namespace gpumem::mr::detail {

/**
 * @brief A number unique to the calling thread for the life of the process, never 0.
 *
 * Keys state that belongs to a thread's per-thread default stream. std::thread::id is not fit
 * for that: the C library hands an exited thread's id to the next thread it creates, which
 * would then reuse blocks still in use on the first thread's stream without a wait.
 */
inline std::uint64_t this_thread_token() noexcept {
  static std::atomic<std::uint64_t> next{1};
  thread_local const std::uint64_t token = next.fetch_add(1, std::memory_order_relaxed);
  return token;
}

}  // namespace gpumem::mr::detail
