#pragma once
// The quarantine free policy's store: blocks a program freed with cudaFree while work on any
// stream may still use them wait here for a device barrier before the stack may reuse them.
// No CUDA here: the barrier and the release are the caller's (tests/unit drives it on the host).

#include <cstddef>
#include <mutex>
#include <vector>

#include "gpumem/detail/spin_lock.hpp"

namespace gpumem::preload {

/// Freed blocks waiting for a device barrier. Thread safe.
class free_quarantine {
 public:
  /// A freed block.
  struct block {
    void* pointer;
    std::size_t size;
    bool managed;  ///< from the managed stack
  };

  /// Full (release it) at `byte_limit` bytes or `block_limit` blocks, whichever comes first.
  free_quarantine(std::size_t byte_limit, std::size_t block_limit) noexcept
      : byte_limit_{byte_limit}, block_limit_{block_limit} {}

  /**
   * @brief Keeps a freed block until the next release().
   * @return true when the quarantine is full: the caller releases it now
   * @throws std::bad_alloc when there is no host memory to remember it
   */
  bool hold(block freed) {
    std::lock_guard lock(lock_);
    blocks_.push_back(freed);
    bytes_ += freed.size;
    return bytes_ >= byte_limit_ || blocks_.size() >= block_limit_;
  }

  /**
   * @brief Releases the blocks held now: `barrier()` waits for the device (true when it did);
   * then each block goes to `release(block)`. Blocks held while the barrier runs (frees from
   * other threads) are not this barrier's: they wait for the next one. When the barrier fails
   * (CUDA refuses one while a stream captures a graph), every block stays for a later one.
   * @return the number of blocks released
   */
  template <typename Barrier, typename Release>
  std::size_t release(Barrier&& barrier, Release&& release) {
    std::vector<block> taken;
    {
      std::lock_guard lock(lock_);
      taken.swap(blocks_);
      bytes_ = 0;
    }
    if (taken.empty()) return 0;
    if (!barrier()) {
      std::lock_guard lock(lock_);
      for (const block& kept : taken)
        bytes_ += kept.size;
      blocks_.insert(blocks_.end(), taken.begin(), taken.end());
      return 0;
    }
    for (const block& freed : taken)
      release(freed);
    return taken.size();
  }

  /// Bytes held now.
  [[nodiscard]] std::size_t bytes() const noexcept {
    std::lock_guard lock(lock_);
    return bytes_;
  }
  /// Blocks held now.
  [[nodiscard]] std::size_t blocks() const noexcept {
    std::lock_guard lock(lock_);
    return blocks_.size();
  }

 private:
  std::size_t byte_limit_;
  std::size_t block_limit_;
  mutable gpumem::detail::spin_lock lock_;
  std::vector<block> blocks_;
  std::size_t bytes_ = 0;
};

}  // namespace gpumem::preload
