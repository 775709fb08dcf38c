#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "core/memory_block.hpp"

namespace gpumem::core {

/**
 * @brief Free blocks by size, in constant time: a two-level segregated fit index (after TLSF,
 * Masmano et al., 2004).
 *
 * Sizes are split into classes: the first level is the power of two below the size, the
 * second divides each power of two into 16 equal ranges. A bitmap per level says which
 * classes hold blocks, so finding a class with a block that fits is two count-trailing-zeros
 * instructions, whatever the number of free blocks. find() first looks at a few blocks of the
 * request's own class for the smallest that fits (best fit in practice), then takes the
 * first block of the next non-empty larger class, each of whose blocks fits (good fit).
 *
 * Sizes are multiples of `granularity` (256 for device memory). Not thread safe.
 */
class segregated_free_index {
 public:
  /// An empty index.
  segregated_free_index() = default;
  segregated_free_index(const segregated_free_index&) = delete;
  segregated_free_index& operator=(const segregated_free_index&) = delete;
  segregated_free_index(segregated_free_index&&) = delete;
  segregated_free_index& operator=(segregated_free_index&&) = delete;
  ~segregated_free_index() = default;

  /// Adds a free block; the block's owner becomes this index.
  void insert(memory_block* block) noexcept;

  /// Removes a block of this index; the block's owner becomes null.
  void remove(memory_block* block) noexcept;

  /// A block of at least `size` bytes, left in the index; null when none fits.
  [[nodiscard]] memory_block* find(std::size_t size) const noexcept;

  /// Whether the index holds no block.
  [[nodiscard]] bool empty() const noexcept { return first_level_map_ == 0; }

  /// The number of free blocks.
  [[nodiscard]] std::size_t block_count() const noexcept { return block_count_; }

  /// The bytes of all free blocks.
  [[nodiscard]] std::size_t free_bytes() const noexcept { return free_bytes_; }

  /// The largest free block's size (0 when empty); costs a walk of one class list.
  [[nodiscard]] std::size_t largest_block() const noexcept;

  /// Calls `visit(memory_block*)` for every block; `visit` may remove the block it is given.
  template <typename Visitor>
  void for_each(Visitor&& visit) {
    for (auto& level : lists_) {
      for (memory_block*& head : level) {
        for (memory_block* block = head; block != nullptr;) {
          memory_block* next = block->next_free;
          visit(block);
          block = next;
        }
      }
    }
  }

 private:
  static constexpr unsigned kSecondLevelBits = 4;
  static constexpr unsigned kSecondLevels = 1U << kSecondLevelBits;
  static constexpr unsigned kFirstLevels = 64;
  static constexpr unsigned kBestFitProbe = 8;  ///< blocks of the request's own class looked at

  struct size_class {
    unsigned first;
    unsigned second;
  };

  /// The class a block of `size` is listed in.
  static size_class class_of(std::size_t size) noexcept {
    const unsigned first = static_cast<unsigned>(std::bit_width(size)) - 1;
    if (first < kSecondLevelBits) return {first, static_cast<unsigned>(size) & (kSecondLevels - 1)};
    const auto second =
        static_cast<unsigned>(size >> (first - kSecondLevelBits)) & (kSecondLevels - 1);
    return {first, second};
  }

  /// The first non-empty class at or above `from`, or {kFirstLevels, 0} when none.
  [[nodiscard]] size_class first_nonempty_from(size_class from) const noexcept;

  std::array<std::array<memory_block*, kSecondLevels>, kFirstLevels> lists_{};
  std::array<std::uint32_t, kFirstLevels> second_level_maps_{};
  std::uint64_t first_level_map_ = 0;
  std::size_t block_count_ = 0;
  std::size_t free_bytes_ = 0;
};

}  // namespace gpumem::core
