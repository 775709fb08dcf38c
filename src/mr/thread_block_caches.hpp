#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "gpumem/cuda_stream_view.hpp"
#include "mr/stream_retirement.hpp"
#include "mr/thread_block_cache.hpp"
#include "mr/thread_token.hpp"

namespace gpumem::mr::detail {

/**
 * @brief A sub-allocator's thread_block_cache of every thread that uses it, and the calling
 * thread's way to its own.
 *
 * The allocator owns the caches (a list under a registration lock, each with its thread's
 * token), so it can drain them all under its own lock, and a thread finds its cache again
 * after losing track of it. A thread finds its cache through a small thread-local directory
 * keyed by the allocator's id, a number of the process never given twice (a destroyed
 * allocator's entries never match a new one, and a non-matching entry is never followed).
 * When a thread ends (stream_retirement announces it: making a cache watches the thread), the
 * allocator drains its cache and retire_thread() hands the cache to the next new thread, so a
 * program that makes a thread per task keeps a short list.
 *
 * Header only: the shim compiles the sub-allocators' sources a second time from its own list.
 *
 * @tparam Blocks one stream's blocks in a cache (see thread_block_cache)
 */
template <typename Blocks = core::recent_free_cache>
class thread_block_caches {
 public:
  thread_block_caches() = default;
  thread_block_caches(const thread_block_caches&) = delete;
  thread_block_caches& operator=(const thread_block_caches&) = delete;
  thread_block_caches(thread_block_caches&&) = delete;
  thread_block_caches& operator=(thread_block_caches&&) = delete;
  ~thread_block_caches() = default;

  /// The calling thread's cache and the key of a stream as the thread uses it.
  struct local {
    thread_block_cache<Blocks>* cache;  ///< null when there is no host memory for one
    stream_key key;  ///< stream_key::of(stream), without another thread-local lookup
  };

  /**
   * @brief The calling thread's cache, made on its first call (null when there is no host
   * memory for one: the caller then goes the normal way), and the key of `stream` in it.
   */
  local mine(cuda_stream_view stream) noexcept {
    thread_state& here = this_thread();
    const cudaStream_t handle = stream.value();
    const stream_key key{handle, handle == cudaStreamPerThread ? here.token() : 0};
    directory_entry& first = here.entries[id_ % kDirectorySets];
    if (first.id == id_ && first.owner == this) return {first.cache, key};
    directory_entry& second = here.entries[id_ % kDirectorySets + kDirectorySets];
    if (second.id == id_ && second.owner == this) return {second.cache, key};
    return {find_or_make(here), key};
  }

  /**
   * @brief Calls `visit(cache)` for every cache. The allocator calls it under its own lock
   * (lock order: allocator, registration, cache).
   */
  template <typename Visit>
  void for_each(Visit&& visit) {
    std::lock_guard lock(registration_);
    for (const auto& cache : caches_)
      visit(*cache);
  }

  /**
   * @brief The thread with `token` ended: calls `visit(cache)` for its caches (to drain them),
   * then frees them for the next thread that needs one. Under the allocator's lock.
   */
  template <typename Visit>
  void retire_thread(std::uint64_t token, Visit&& visit) {
    std::lock_guard lock(registration_);
    for (const auto& cache : caches_) {
      if (cache->owner() != token) continue;
      visit(*cache);
      cache->set_owner(0);
    }
  }

  /// The number of caches (threads that used the allocator and did not end, and free ones).
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(registration_);
    return caches_.size();
  }

 private:
  /// One thread's way to one allocator's cache.
  struct directory_entry {
    std::uint64_t id = 0;
    const thread_block_caches* owner = nullptr;
    thread_block_cache<Blocks>* cache = nullptr;
  };
  /// Two ways of this many entries: a thread reaches this many allocators (and more, with
  /// luck) without a lookup under the registration lock.
  static constexpr std::size_t kDirectorySets = 16;

  /// What a thread keeps: its token and its directory, together (one thread-local lookup).
  struct thread_state {
    std::uint64_t known_token = 0;  ///< this_thread_token(), once asked for
    std::array<directory_entry, 2 * kDirectorySets> entries{};

    std::uint64_t token() noexcept {
      if (known_token == 0) [[unlikely]]
        known_token = this_thread_token();
      return known_token;
    }
  };

  /// The calling thread's state (constant-initialized, trivially destroyed: no guard).
  static thread_state& this_thread() noexcept {
    static constinit thread_local thread_state state{};
    thread_state* address = &state;
    // Opaque to the compiler: it keeps the address instead of asking the dynamic linker again
    // (__tls_get_addr) at each use of `state` in a shared library.
    asm("" : "+r"(address));
    return *address;
  }

  static std::uint64_t next_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  /// The calling thread's cache from the list (its own, else a free one, else a new one), put
  /// in its directory; null when there is no host memory.
  thread_block_cache<Blocks>* find_or_make(thread_state& here) noexcept {
    const std::uint64_t token = here.token();
    thread_block_cache<Blocks>* found = nullptr;
    try {
      std::lock_guard lock(registration_);
      for (const auto& cache : caches_) {
        if (cache->owner() == token) found = cache.get();
      }
      for (auto it = caches_.begin(); found == nullptr && it != caches_.end(); ++it) {
        if ((*it)->owner() == 0) {
          found = it->get();
          found->set_owner(token);
        }
      }
      if (found == nullptr) {
        caches_.push_back(std::make_unique<thread_block_cache<Blocks>>(token));
        found = caches_.back().get();
      }
    } catch (...) {
      return nullptr;
    }
    // The thread's end is announced, so the allocator drains its cache then.
    stream_retirement::watch_this_thread();
    directory_entry& first = here.entries[id_ % kDirectorySets];
    here.entries[id_ % kDirectorySets + kDirectorySets] = first;
    first = directory_entry{id_, this, found};
    return found;
  }

  const std::uint64_t id_ = next_id();
  mutable std::mutex registration_;
  std::vector<std::unique_ptr<thread_block_cache<Blocks>>> caches_;
};

}  // namespace gpumem::mr::detail
