#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace gpumem::core {

/**
 * @brief Freed blocks that all have one size, kept as a stack (the most recently freed is
 * reused first): recent_free_cache's interface for an allocator of one block size, without its
 * slots by size, so keeping and taking a block cost a handful of instructions.
 *
 * The first block kept fixes the size until the stack is empty again; a block of another size
 * is refused. At most `depth()` blocks; the first kInlineDepth inline, deeper ones in a vector
 * that grows only as deep as it is used. Not thread safe.
 */
class same_size_blocks {
 public:
  static constexpr std::size_t kInlineDepth = 8;

  /// A stack of at most `depth` blocks.
  explicit same_size_blocks(std::size_t depth) noexcept : depth_{depth} {}

  /// The most blocks kept.
  [[nodiscard]] std::size_t depth() const noexcept { return depth_; }

  /// Keeps a freed block; false when it does not fit (then the caller frees it normally).
  bool put(std::uintptr_t address, std::size_t size) noexcept {
    if (count_ == depth_ || (count_ != 0 && size != size_)) return false;
    if (count_ < kInlineDepth) {
      near_[count_] = address;
    } else {
      try {
        deep_.push_back(address);
      } catch (const std::bad_alloc&) {
        return false;  // no host memory to remember it: free it the normal way
      }
    }
    size_ = size;
    ++count_;
    return true;
  }

  /// A kept block of exactly `size` bytes (the most recently freed), or 0.
  std::uintptr_t take(std::size_t size) noexcept {
    if (count_ == 0 || size != size_) return 0;
    return pop();
  }

  /// Blocks kept.
  [[nodiscard]] std::size_t blocks() const noexcept { return count_; }
  /// Bytes kept.
  [[nodiscard]] std::size_t bytes() const noexcept { return count_ * size_; }
  /// The size of the blocks kept (0 when empty).
  [[nodiscard]] std::size_t largest_block() const noexcept { return count_ != 0 ? size_ : 0; }

  /// Hands every kept block to `release(address, size)` and empties the stack.
  template <typename Release>
  void drain(Release&& release) {
    while (count_ != 0)
      release(pop(), size_);
  }

 private:
  std::uintptr_t pop() noexcept {
    if (--count_ < kInlineDepth) return near_[count_];
    const std::uintptr_t address = deep_.back();
    deep_.pop_back();
    return address;
  }

  std::size_t depth_;
  std::size_t size_ = 0;
  std::size_t count_ = 0;
  std::array<std::uintptr_t, kInlineDepth> near_{};
  std::vector<std::uintptr_t> deep_;
};

}  // namespace gpumem::core
