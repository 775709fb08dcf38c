#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

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
 */
class thread_block_caches {
 public:
  thread_block_caches() = default;
  thread_block_caches(const thread_block_caches&) = delete;
  thread_block_caches& operator=(const thread_block_caches&) = delete;
  thread_block_caches(thread_block_caches&&) = delete;
  thread_block_caches& operator=(thread_block_caches&&) = delete;
  ~thread_block_caches() = default;

  /// The calling thread's cache, made on its first call; null when there is no host memory
  /// for one (the caller then goes the normal way).
  thread_block_cache* mine() noexcept {
    auto& entries = directory();
    directory_entry& first = entries[id_ % kDirectorySets];
    if (first.id == id_ && first.owner == this) return first.cache;
    directory_entry& second = entries[id_ % kDirectorySets + kDirectorySets];
    if (second.id == id_ && second.owner == this) return second.cache;
    return find_or_make();
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
    thread_block_cache* cache = nullptr;
  };
  /// Two ways of this many entries: a thread reaches this many allocators (and more, with
  /// luck) without a lookup under the registration lock.
  static constexpr std::size_t kDirectorySets = 16;

  /// The calling thread's directory (constant-initialized, trivially destroyed: no guard).
  static std::array<directory_entry, 2 * kDirectorySets>& directory() noexcept {
    static constinit thread_local std::array<directory_entry, 2 * kDirectorySets> entries{};
    return entries;
  }

  static std::uint64_t next_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  /// The calling thread's cache from the list (its own, else a free one, else a new one), put
  /// in its directory; null when there is no host memory.
  thread_block_cache* find_or_make() noexcept {
    const std::uint64_t token = this_thread_token();
    thread_block_cache* found = nullptr;
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
        caches_.push_back(std::make_unique<thread_block_cache>(token));
        found = caches_.back().get();
      }
    } catch (...) {
      return nullptr;
    }
    // The thread's end is announced, so the allocator drains its cache then.
    stream_retirement::watch_this_thread();
    auto& entries = directory();
    directory_entry& first = entries[id_ % kDirectorySets];
    entries[id_ % kDirectorySets + kDirectorySets] = first;
    first = directory_entry{id_, this, found};
    return found;
  }

  const std::uint64_t id_ = next_id();
  mutable std::mutex registration_;
  std::vector<std::unique_ptr<thread_block_cache>> caches_;
};

}  // namespace gpumem::mr::detail
