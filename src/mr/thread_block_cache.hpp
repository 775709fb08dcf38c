#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <utility>

#include "core/recent_free_cache.hpp"
#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/detail/spin_lock.hpp"
#include "mr/thread_token.hpp"

namespace gpumem::mr::detail {

/**
 * @brief The stream blocks were freed on, as a key: the handle, and for the per-thread default
 * stream (a different stream in every thread under one handle) the token of the thread whose
 * stream it is (this_thread_token(), never reused, unlike thread ids).
 */
struct stream_key {
  cudaStream_t stream = nullptr;
  std::uint64_t thread = 0;  ///< the owning thread's token for cudaStreamPerThread, else 0

  /// The key of `stream` as the calling thread uses it.
  static stream_key of(cuda_stream_view stream) noexcept {
    const cudaStream_t handle = stream.value();
    return stream_key{handle, handle == cudaStreamPerThread ? this_thread_token() : 0};
  }

  /// Whether this is a thread's per-thread default stream.
  [[nodiscard]] bool per_thread() const noexcept { return thread != 0; }

  friend bool operator==(const stream_key&, const stream_key&) noexcept = default;
};

/// The bounds of a thread's block cache (thread_block_cache), and what it reports.
struct thread_block_cache_limits {
  /// The most blocks kept: the shim's quarantine hands back up to 1 024 blocks at once on one
  /// thread, which reuses them next.
  static constexpr std::size_t kMaxBlocks = 1024;
  /// The most bytes kept.
  static constexpr std::size_t kMaxBytes = std::size_t{64} << 20;
  /// The largest block kept.
  static constexpr std::size_t kLargestBlock = std::size_t{16} << 20;
  /// The streams kept at once: a thread typically uses one or two.
  static constexpr std::size_t kStreams = 4;

  /// What a cache holds, for reports.
  struct totals {
    std::size_t blocks = 0;         ///< blocks kept
    std::size_t bytes = 0;          ///< their bytes
    std::size_t largest_block = 0;  ///< the largest (0 when none)
  };
};

/**
 * @brief One thread's cache of freed blocks for one sub-allocator, in front of the allocator's
 * shared and locked free lists: the thread's next allocation of a size it freed lately takes
 * such a block back without the allocator's lock, so threads do not contend.
 *
 * Blocks are kept by the stream they were freed on (stream_key), in a `Blocks` per stream
 * (exact-size slots, core::recent_free_cache, for a pool; a stack, core::same_size_blocks, for
 * an allocator of one block size), and a block is handed out again only for an allocation on
 * the same stream: stream order makes that safe without an event, as in
 * stream_ordered_free_lists. Never across streams: the allocator does that, with its ordering,
 * after it drained the caches into its own per-stream lists (drain(), under its lock).
 *
 * Bounded: blocks of at most kLargestBlock bytes, kMaxBlocks blocks and kMaxBytes bytes in all,
 * kStreams streams at once (a stream's slot is given to another stream once empty). What does
 * not fit is freed the normal way. Thread safe: the owning thread takes and puts under the
 * cache's spin lock (uncontended but when the allocator drains); the allocator drains under its
 * own lock, then this one (never the other way round: the owner never holds this lock while it
 * takes the allocator's).
 *
 * @tparam Blocks one stream's blocks: constructible from a depth, with put(address, size),
 *         take(size), blocks(), bytes(), largest_block() and drain(release)
 */
template <typename Blocks = core::recent_free_cache>
class alignas(64) thread_block_cache : public thread_block_cache_limits {
 public:
  /// An empty cache of the thread with token `owner`.
  explicit thread_block_cache(std::uint64_t owner) noexcept : owner_{owner} {}

  /**
   * @brief A block of exactly `size` bytes freed on the stream `key` (the most recent), or 0.
   */
  std::uintptr_t take(const stream_key& key, std::size_t size) noexcept {
    std::lock_guard lock(lock_);
    stream_blocks* home = find(key);
    if (home == nullptr) return 0;
    const std::uintptr_t address = home->blocks->take(size);
    if (address != 0) {
      --blocks_;
      bytes_ -= size;
    }
    return address;
  }

  /**
   * @brief Keeps the block at `address` of `size` bytes, freed on the stream `key`; false when it
   * does not fit (the caller then frees it the normal way).
   */
  bool put(const stream_key& key, std::uintptr_t address, std::size_t size) noexcept {
    if (size > kLargestBlock) return false;
    std::lock_guard lock(lock_);
    if (blocks_ == kMaxBlocks || bytes_ + size > kMaxBytes) return false;
    stream_blocks* home = find(key);
    if (home == nullptr) home = claim(key);
    if (home == nullptr || !home->blocks->put(address, size)) return false;
    ++blocks_;
    bytes_ += size;
    return true;
  }

  /**
   * @brief Keeps each of `blocks` (address, size), freed on the stream `key`, as put() would,
   * under one acquisition of the lock (a caller that frees in batches). Those that do not fit
   * are moved, in order, to the front of `blocks`.
   * @return how many did not fit (the caller frees them the normal way)
   */
  std::size_t put_many(const stream_key& key,
                       std::span<std::pair<std::uintptr_t, std::size_t>> blocks) noexcept {
    std::size_t rejected = 0;
    std::lock_guard lock(lock_);
    stream_blocks* home = nullptr;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const auto [address, size] = blocks[i];
      bool kept = false;
      if (size <= kLargestBlock && blocks_ < kMaxBlocks && bytes_ + size <= kMaxBytes) {
        if (home == nullptr) home = find(key);
        if (home == nullptr) home = claim(key);
        kept = home != nullptr && home->blocks->put(address, size);
      }
      if (kept) {
        ++blocks_;
        bytes_ += size;
      } else {
        blocks[rejected++] = blocks[i];
      }
    }
    return rejected;
  }

  /**
   * @brief Hands the blocks of every stream whose key satisfies `which(key)` to
   * `release(key, blocks)`, which must empty `blocks` (Blocks::drain). Called
   * by the allocator under its lock; takes this cache's lock. `release` must not throw.
   * @return whether any block was handed over
   */
  template <typename Which, typename Release>
  bool drain(Which&& which, Release&& release) noexcept {
    std::lock_guard lock(lock_);
    bool any = false;
    for (stream_blocks& entry : streams_) {
      if (!entry.assigned || entry.blocks->blocks() == 0 || !which(entry.key)) continue;
      blocks_ -= entry.blocks->blocks();
      bytes_ -= entry.blocks->bytes();
      release(std::as_const(entry.key), *entry.blocks);
      // Whatever release left is forgotten: never handed out again under a key that may be
      // gone (a retired stream's handle can be reused by a new stream).
      entry.blocks->drain([](std::uintptr_t, std::size_t) {});
      entry.assigned = false;
      any = true;
    }
    return any;
  }

  /// Blocks and bytes kept, and the largest block.
  [[nodiscard]] totals count() const noexcept {
    std::lock_guard lock(lock_);
    totals all{blocks_, bytes_, 0};
    for (const stream_blocks& entry : streams_) {
      if (entry.assigned)
        all.largest_block = std::max(all.largest_block, entry.blocks->largest_block());
    }
    return all;
  }

  /// The token of the thread that owns the cache (0: none, its thread ended). The owning
  /// registry reads and changes it under its own lock.
  [[nodiscard]] std::uint64_t owner() const noexcept { return owner_; }
  /// Gives the cache to the thread with token `owner` (0: none).
  void set_owner(std::uint64_t owner) noexcept { owner_ = owner; }

 private:
  /// One stream's blocks.
  struct stream_blocks {
    stream_key key;
    bool assigned = false;  ///< whether `key` is this slot's stream
    std::unique_ptr<Blocks> blocks;
  };

  stream_blocks* find(const stream_key& key) noexcept {
    for (stream_blocks& entry : streams_) {
      if (entry.assigned && entry.key == key) return &entry;
    }
    return nullptr;
  }

  /// A slot for `key`: one never used or left empty; null when every slot holds blocks. Out of
  /// line: a thread meets a new stream rarely.
  [[gnu::noinline]] stream_blocks* claim(const stream_key& key) noexcept {
    for (stream_blocks& entry : streams_) {
      if (entry.assigned && entry.blocks->blocks() != 0) continue;
      if (entry.blocks == nullptr) {
        try {
          entry.blocks = std::make_unique<Blocks>(kMaxBlocks);
        } catch (...) {
          return nullptr;  // no host memory: the block is freed the normal way
        }
      }
      entry.key = key;
      entry.assigned = true;
      return &entry;
    }
    return nullptr;
  }

  mutable gpumem::detail::spin_lock lock_;
  std::array<stream_blocks, kStreams> streams_{};
  std::size_t blocks_ = 0;
  std::size_t bytes_ = 0;
  std::uint64_t owner_;
};

}  // namespace gpumem::mr::detail
