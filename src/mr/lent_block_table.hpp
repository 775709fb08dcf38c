#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace gpumem::mr::detail {

/**
 * @brief The sizes of blocks a sub-allocator handed out, found by address without its lock:
 * a free on any thread learns from it that a block is one of the allocator's and its true size,
 * so the free can go to the thread's block cache (thread_block_cache) without asking the
 * allocator's own records, which its lock guards.
 *
 * A hint, never trusted beyond what it says: an entry is a block's address and size, written
 * when the block is served and removed when it is freed, so an entry present means that block
 * is allocated with that size. An entry may be missing (another block of the same hash took its
 * place, or the block did not fit an entry): the free then asks the allocator's records under
 * its lock, as without this table. Direct mapped, one 64-bit word per entry (address / 256 in
 * the low 40 bits, size / 256 in the high 24), so a lookup is a hash, a load and a store, and
 * two threads never write one entry for the same block (a block has one user at a time).
 * Thread safe.
 */
class lent_block_table {
 public:
  /// Entries by default: a few thousand blocks handed out at once are found (128 KiB of host
  /// memory).
  static constexpr unsigned kDefaultEntryBits = 14;
  /// Addresses and sizes are multiples of this.
  static constexpr std::size_t kGranularity = 256;

  /**
   * @brief A table of 2^`entry_bits` entries (8 bytes each). Blocks handed out at once beyond
   * about a quarter of the entries mostly miss (their frees take the allocator's lock), and
   * entries of different threads' blocks share cache lines: an allocator that many threads use
   * with many blocks each (the shim's quarantine holds a thousand per thread) wants more.
   */
  explicit lent_block_table(unsigned entry_bits = kDefaultEntryBits)
      : entry_bits_{entry_bits},
        entries_{std::make_unique<std::atomic<std::uint64_t>[]>(std::size_t{1} << entry_bits)} {}

  /// Records that the block at `address` (a multiple of 256) of `size` bytes is handed out;
  /// nothing when it does not fit an entry.
  void record(std::uintptr_t address, std::size_t size) noexcept {
    const std::uint64_t entry = encode(address, size);
    if (entry != 0) slot(address).store(entry, std::memory_order_relaxed);
  }

  /**
   * @brief Removes the entry of the block at `address`, freed now, and returns its size; 0 when
   * there is none, or `address` is not a block's start (the caller then asks the allocator's
   * records).
   */
  std::size_t claim(std::uintptr_t address) noexcept {
    // Only a block's own start: a pointer inside one (a caller's mistake) shares its unit and
    // would take the block's size, and the block, along.
    if (address % kGranularity != 0) return 0;
    std::atomic<std::uint64_t>& home = slot(address);
    const std::uint64_t entry = home.load(std::memory_order_relaxed);
    if (entry == 0 || (entry & kAddressMask) != address / kGranularity) return 0;
    // A plain store: a block's free is its only remover, and an entry another thread writes
    // meanwhile (another block of this hash) lost here only costs that block's free a lookup.
    home.store(0, std::memory_order_relaxed);
    return static_cast<std::size_t>(entry >> kAddressBits) * kGranularity;
  }

 private:
  static constexpr unsigned kAddressBits = 40;
  static constexpr std::uint64_t kAddressMask = (std::uint64_t{1} << kAddressBits) - 1;
  static constexpr std::uint64_t kSizeUnits = std::uint64_t{1} << (64 - kAddressBits);

  /// The entry of a block, or 0 when the address or size does not fit one.
  static std::uint64_t encode(std::uintptr_t address, std::size_t size) noexcept {
    const std::uint64_t address_units = address / kGranularity;
    const std::uint64_t size_units = size / kGranularity;
    // Unsigned wrap-around folds the zero tests into the range tests.
    const bool fits = (address_units - 1 < kAddressMask) & (size_units - 1 < kSizeUnits - 1) &
                      ((address | size) % kGranularity == 0);
    return fits ? address_units | (size_units << kAddressBits) : 0;
  }

  std::atomic<std::uint64_t>& slot(std::uintptr_t address) const noexcept {
    // Fibonacci hashing of the 256-byte unit: neighbouring blocks land far apart.
    const std::uint64_t units = address / kGranularity;
    return entries_[(units * 0x9E3779B97F4A7C15ULL) >> (64 - entry_bits_)];
  }

  unsigned entry_bits_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> entries_;
};

}  // namespace gpumem::mr::detail
