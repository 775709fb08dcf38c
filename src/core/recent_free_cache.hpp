#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace gpumem::core {

/**
 * @brief Blocks freed lately, kept whole by exact size so that the next request of that size
 * takes one back without splitting, merging or index updates: the common case of a program
 * that allocates and frees the same sizes over and over costs a few dozen instructions.
 *
 * Deferred coalescing, bounded: at most `depth()` blocks of one size in a slot, `kSlots` slots
 * chosen by size, blocks of at most `kLargestBlock` bytes, `kMaxBytes` bytes in all. The pool
 * asks for a deep cache because frees come in bursts: the shim's quarantine hands back up to
 * 1 024 blocks after one device barrier, and a program that frees a batch of same-sized
 * buffers reuses them next. The arena keeps the default depth, so idle superblocks empty out
 * and go back to its global arena. Past the first kDefaultDepth blocks of a size, a slot's
 * storage grows only as deep as it is used (at most 8 KiB). What does not fit is freed the
 * normal way (merged with its neighbours), and drain() hands everything
 * back when the owner needs whole blocks (to give memory to another stream, to release it,
 * before failing with out of memory). Not thread safe; one cache per stream.
 */
class recent_free_cache {
 public:
  static constexpr std::size_t kSlots = 64;
  static constexpr std::size_t kDefaultDepth = 8;
  static constexpr std::size_t kMaxDepth = 1024;
  static constexpr std::size_t kLargestBlock = std::size_t{16} << 20;
  static constexpr std::size_t kMaxBytes = std::size_t{64} << 20;

  /// A cache that keeps at most `depth` (at most kMaxDepth) blocks of one size.
  explicit recent_free_cache(std::size_t depth = kDefaultDepth) noexcept
      : depth_{std::min(depth, kMaxDepth)} {}

  /// The most blocks of one size kept.
  [[nodiscard]] std::size_t depth() const noexcept { return depth_; }

  /// Keeps a freed block; false when it does not fit (then the caller frees it normally).
  bool put(std::uintptr_t address, std::size_t size) noexcept {
    if (size > kLargestBlock || bytes_ + size > kMaxBytes) return false;
    slot& home = slots_[slot_of(size)];
    if (home.count == depth_ || (home.count != 0 && home.size != size)) return false;
    if (home.count < kDefaultDepth) {
      home.near[home.count] = address;
    } else {
      try {
        home.deep.push_back(address);
      } catch (const std::bad_alloc&) {
        return false;  // no host memory to remember it: free it the normal way
      }
    }
    ++home.count;
    home.size = size;
    bytes_ += size;
    ++blocks_;
    return true;
  }

  /// A kept block of exactly `size` bytes (the most recently freed), or 0.
  std::uintptr_t take(std::size_t size) noexcept {
    slot& home = slots_[slot_of(size)];
    if (home.count == 0 || home.size != size) return 0;
    bytes_ -= size;
    --blocks_;
    return home.pop();
  }

  /// Bytes kept.
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  /// The largest block kept (0 when empty); looks at every slot.
  [[nodiscard]] std::size_t largest_block() const noexcept {
    std::size_t largest = 0;
    for (const slot& entry : slots_) {
      if (entry.count != 0 && entry.size > largest) largest = entry.size;
    }
    return largest;
  }

  /// Blocks kept.
  [[nodiscard]] std::size_t blocks() const noexcept { return blocks_; }

  /// Hands every kept block to `release(address, size)` and empties the cache.
  template <typename Release>
  void drain(Release&& release) {
    for (slot& entry : slots_) {
      while (entry.count != 0)
        release(entry.pop(), entry.size);
    }
    bytes_ = 0;
    blocks_ = 0;
  }

 private:
  /// One size's blocks, a stack (the most recently freed is reused first): the first
  /// kDefaultDepth inline, where the common case stays in one cache line or two; deeper ones,
  /// only in a deep cache, in a vector.
  struct slot {
    std::size_t size = 0;
    std::size_t count = 0;  ///< blocks kept: the first kDefaultDepth in `near`, the rest in `deep`
    std::array<std::uintptr_t, kDefaultDepth> near{};
    std::vector<std::uintptr_t> deep;

    /// Removes and returns the block kept last. @pre count != 0
    std::uintptr_t pop() noexcept {
      if (--count < kDefaultDepth) return near[count];
      const std::uintptr_t address = deep.back();
      deep.pop_back();
      return address;
    }
  };

  static std::size_t slot_of(std::size_t size) noexcept { return (size >> 8) % kSlots; }

  std::size_t depth_;
  std::array<slot, kSlots> slots_{};
  std::size_t bytes_ = 0;
  std::size_t blocks_ = 0;
};

}  // namespace gpumem::core
