#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/address_map.hpp"
#include "core/memory_block.hpp"
#include "core/segregated_free_index.hpp"

namespace gpumem::core {

/// A range of addresses: an upstream allocation (slab) given back.
struct address_range {
  std::uintptr_t address;
  std::size_t size;
};

/**
 * @brief Sub-allocation of slabs (large upstream allocations) into blocks: best-fit search
 * through segregated_free_index, splitting on allocation, and coalescing with free address
 * neighbours on free, all in constant time whatever the number of blocks.
 *
 * Free blocks live in one of several indexes chosen by the caller (a pool keeps one index
 * per stream): a freed block merges only with neighbours of the same index, since a block
 * free on another stream may still be in use there. Allocated blocks are found by address in
 * an address_map. No CUDA call and no lock here: callers serialize access.
 */
class coalescing_heap {
 public:
  /**
   * @param granularity every block size is a multiple of it (a power of two; 256 for CUDA)
   * @param unowned an index of blocks free for every stream (never used since they came from
   *        upstream, or idle after a device synchronization): any index may absorb them when
   *        merging; may be null
   */
  explicit coalescing_heap(std::size_t granularity, segregated_free_index* unowned = nullptr)
      : granularity_{granularity}, unowned_{unowned} {}

  /// Adds a slab as one free block of `index`.
  void add_slab(std::uintptr_t address, std::size_t size, segregated_free_index& index);

  /**
   * @brief Takes `size` bytes (a multiple of the granularity) from a block of `index`.
   * @return the address, or 0 when no block of `index` fits
   */
  std::uintptr_t allocate(segregated_free_index& index, std::size_t size);

  /**
   * @brief Frees an allocated block into `index`, merging it with free neighbours of `index`.
   * @return the block's size, or 0 when `address` is not an allocated block
   */
  std::size_t free(std::uintptr_t address, segregated_free_index& index) noexcept;

  /// What free_block() did.
  struct freed_block {
    std::size_t size;  ///< the freed block's size; 0 when the address was not allocated
    address_range whole_free_slab;  ///< the slab, when it became entirely free; {0, 0} otherwise
  };

  /// Like free(), and tells whether the block's slab became entirely free (one block).
  freed_block free_block(std::uintptr_t address, segregated_free_index& index) noexcept;

  /// Forgets an entirely free slab (see free_block()), removing its block from its index.
  void remove_free_slab(address_range slab) noexcept;

  /// The size of the allocated block at `address`, or 0 when there is none.
  [[nodiscard]] std::size_t allocated_size(std::uintptr_t address) const noexcept;

  /// Moves every block of `from` into `to`, merging address neighbours that meet in `to`.
  void transfer(segregated_free_index& from, segregated_free_index& to) noexcept;

  /**
   * @brief Removes the slabs whose blocks are all free (in one block, so merged) and returns
   * them; with `only_in`, only those whose free block is in that index.
   */
  std::vector<address_range> take_free_slabs(const segregated_free_index* only_in = nullptr);

  /**
   * @brief Appends `extra` bytes (which the upstream made usable right after the slab that
   * starts at `slab_address`) to that slab as a free block of `index`, merged with the slab's
   * last block when that one is free in `index` or unowned.
   * @return false when no slab starts at `slab_address`
   */
  bool extend_slab(std::uintptr_t slab_address, std::size_t extra, segregated_free_index& index);

  /**
   * @brief Cuts the free end of the slab that starts at `slab_address` back to a multiple of
   * `unit` from its start (keeping at least `unit`), when its last block is free in `only_in`.
   * @return the bytes cut from the slab's end (a multiple of `unit`; 0 when none)
   */
  std::size_t trim_slab_end(std::uintptr_t slab_address,
                            std::size_t unit,
                            const segregated_free_index& only_in) noexcept;

  /**
   * @brief The bytes free at the end of the slab that starts at `slab_address` that a block of
   * `index` could merge with (its last block, when free in `index` or unowned); 0 otherwise.
   */
  [[nodiscard]] std::size_t free_end(std::uintptr_t slab_address,
                                     const segregated_free_index& index) const noexcept;

  /// The size of the slab that starts at `slab_address`, or 0 when none does.
  [[nodiscard]] std::size_t slab_size(std::uintptr_t slab_address) const noexcept;

  /// Bytes in slabs.
  [[nodiscard]] std::size_t slab_bytes() const noexcept { return slab_bytes_; }
  /// Bytes in allocated blocks.
  [[nodiscard]] std::size_t allocated_bytes() const noexcept { return allocated_bytes_; }
  /// The number of allocated blocks.
  [[nodiscard]] std::size_t allocated_blocks() const noexcept { return allocated_.size(); }
  /// The slabs, for reports and release.
  [[nodiscard]] std::vector<address_range> slabs() const;

 private:
  struct slab {
    memory_block* first;  ///< the block at the slab's start; never merged away
    std::size_t size;     ///< 0: the slab was given back and this entry is unused
  };

  /// Forgets slab entry `index` (whose single block is free).
  void forget_slab(std::uint32_t index) noexcept;
  /// The last block of a slab (walked from its first).
  [[nodiscard]] static memory_block* last_block(const slab& entry) noexcept;

  /// Merges `block` (free, in `index`) with its free neighbours of `index`; returns the result.
  memory_block* merge_with_neighbours(memory_block* block, segregated_free_index& index) noexcept;

  /// Whether a free neighbour may merge into a block of `index`.
  [[nodiscard]] bool mergeable(const memory_block* neighbour,
                               const segregated_free_index& index) const noexcept {
    return neighbour != nullptr &&
           (neighbour->owner == &index || (unowned_ != nullptr && neighbour->owner == unowned_));
  }

  std::size_t granularity_;
  segregated_free_index* unowned_;
  memory_block_records records_;
  address_map<memory_block*> allocated_;
  std::vector<slab> slabs_;
  std::vector<std::uint32_t> unused_slab_entries_;
  address_map<std::uint32_t> slab_by_address_;  ///< slab start -> entry + 1 (0 means none)
  std::size_t slab_bytes_ = 0;
  std::size_t allocated_bytes_ = 0;
};

}  // namespace gpumem::core
