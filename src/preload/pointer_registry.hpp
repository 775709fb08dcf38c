#pragma once
// Every allocation the shim served: pointer -> device, size and kind, so a free finds the
// stack that owns the pointer (and a pointer the shim did not serve goes to CUDA untouched).
//
// Two tiers. A direct-mapped table of lock-free entries takes almost every allocation: an
// insert is one compare-and-swap and a store, a take one load and one compare-and-swap. An
// allocation whose entry another one occupies (or whose record does not fit 64 bits) goes to
// the overflow: hash maps sharded by address, each under its own spin lock.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "core/address_map.hpp"
#include "gpumem/detail/spin_lock.hpp"

namespace gpumem::preload {

/// What the registry knows of an allocation.
struct allocation_record {
  std::size_t size = 0;  ///< bytes requested (0 marks "absent" in the map)
  std::int32_t device = -1;
  bool managed = false;         ///< from the managed stack
  bool stream_ordered = false;  ///< by cudaMallocAsync / cuMemAllocAsync
  std::uint32_t generation =
      0;  ///< the device's stack generation (a device reset starts a new one)
};

/**
 * @brief Concurrent map of served allocations. Thread safe.
 *
 * Each pointer's record lives in one place: its entry in the table, or the overflow. Only the
 * pointer's own insert and take write its entry (a block has one owner at a time), and a take
 * claims the entry with a compare-and-swap, so of two racing frees of one pointer (a program's
 * double free) exactly one finds the record, as under a lock.
 */
class pointer_registry {
 public:
  pointer_registry() : entries_{std::make_unique<entry[]>(kEntries)} {}

  /**
   * @brief Records an allocation; replaces the record of a pointer still present (served again
   * after a device reset dropped it unfreed). A new record for the overflow clears an old one
   * from the table; a record so dropped may stay in the overflow while the new one sits in the
   * table: take() asks the table first, and the stale record, of an earlier generation, is one
   * the shim then treats as unknown.
   * @throws std::bad_alloc when host memory runs out
   */
  void insert(const void* pointer, const allocation_record& record) {
    const auto address = reinterpret_cast<std::uintptr_t>(pointer);
    if (const std::uint64_t packed = pack(record); packed != 0) {
      entry& home = entry_of(address);
      std::uintptr_t key = home.key.load(std::memory_order_relaxed);
      if (key == address ||
          (key == 0 && home.key.compare_exchange_strong(key, address, std::memory_order_relaxed))) {
        home.record.store(packed, std::memory_order_release);
        return;
      }
    }
    // An older record of this pointer in the table must not answer for the new one.
    entry& table_entry = entry_of(address);
    std::uintptr_t present = address;
    (void)table_entry.key.compare_exchange_strong(present, 0, std::memory_order_relaxed);
    shard& home = shard_of(address);
    std::lock_guard lock(home.lock);
    const bool added = home.map.find(address).size == 0;
    home.map.insert(address, record);
    if (added) overflowed_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Removes and returns an allocation's record; nullopt when the pointer is unknown.
  std::optional<allocation_record> take(const void* pointer) noexcept {
    const auto address = reinterpret_cast<std::uintptr_t>(pointer);
    entry& home = entry_of(address);
    std::uintptr_t key = home.key.load(std::memory_order_acquire);
    if (key == address && address != 0) {
      const std::uint64_t packed = home.record.load(std::memory_order_acquire);
      if (home.key.compare_exchange_strong(key, 0, std::memory_order_relaxed))
        return unpack(packed);
    }
    if (overflowed_.load(std::memory_order_relaxed) == 0) return std::nullopt;
    return take_overflow(address);
  }

  /// Whether the pointer was served by the shim.
  [[nodiscard]] bool contains(const void* pointer) const noexcept {
    const auto address = reinterpret_cast<std::uintptr_t>(pointer);
    if (address != 0 && entry_of(address).key.load(std::memory_order_acquire) == address)
      return true;
    const shard& home = shard_of(address);
    std::lock_guard lock(home.lock);
    return home.map.find(address).size != 0;
  }

 private:
  /// Entries of the table: 256 Ki (4 MiB of host memory), so live blocks rarely share one, or a
  /// cache line (4 entries) with another thread's: at 64 Ki entries, 16 threads each with a
  /// thousand blocks in quarantine spent 29 % of their time in insert (H200, the sampler).
  static constexpr unsigned kEntryBits = 18;
  static constexpr std::size_t kEntries = std::size_t{1} << kEntryBits;
  static constexpr std::size_t kShards = 64;

  // A record in 64 bits: size (48), device (6), managed (1), stream-ordered (1), generation (8).
  static constexpr unsigned kSizeBits = 48;
  static constexpr unsigned kDeviceBits = 6;
  static constexpr unsigned kGenerationBits = 8;
  static constexpr unsigned kDeviceShift = kSizeBits;
  static constexpr unsigned kManagedShift = kDeviceShift + kDeviceBits;
  static constexpr unsigned kStreamOrderedShift = kManagedShift + 1;
  static constexpr unsigned kGenerationShift = kStreamOrderedShift + 1;
  static_assert(kGenerationShift + kGenerationBits == 64);

  struct entry {
    std::atomic<std::uintptr_t> key{0};  ///< the pointer, 0 when free
    std::atomic<std::uint64_t> record{0};
  };

  struct alignas(64) shard {
    mutable gpumem::detail::spin_lock lock;
    core::address_map<allocation_record> map;
  };

  /// The record in 64 bits, or 0 when it does not fit (it then goes to the overflow).
  static std::uint64_t pack(const allocation_record& record) noexcept {
    const bool fits = record.size != 0 && record.size >> kSizeBits == 0 && record.device >= 0 &&
                      record.device >> kDeviceBits == 0 &&
                      record.generation >> kGenerationBits == 0;
    if (!fits) return 0;
    return std::uint64_t{record.size} |
           std::uint64_t{static_cast<std::uint32_t>(record.device)} << kDeviceShift |
           std::uint64_t{record.managed} << kManagedShift |
           std::uint64_t{record.stream_ordered} << kStreamOrderedShift |
           std::uint64_t{record.generation} << kGenerationShift;
  }

  static allocation_record unpack(std::uint64_t packed) noexcept {
    constexpr auto bits = [](unsigned count) { return (std::uint64_t{1} << count) - 1; };
    return allocation_record{
        static_cast<std::size_t>(packed & bits(kSizeBits)),
        static_cast<std::int32_t>(packed >> kDeviceShift & bits(kDeviceBits)),
        (packed >> kManagedShift & 1) != 0,
        (packed >> kStreamOrderedShift & 1) != 0,
        static_cast<std::uint32_t>(packed >> kGenerationShift & bits(kGenerationBits))};
  }

  std::optional<allocation_record> take_overflow(std::uintptr_t address) noexcept {
    shard& home = shard_of(address);
    std::lock_guard lock(home.lock);
    const allocation_record record = home.map.take(address);
    if (record.size == 0) return std::nullopt;
    overflowed_.fetch_sub(1, std::memory_order_relaxed);
    return record;
  }

  [[nodiscard]] entry& entry_of(std::uintptr_t address) const noexcept {
    // Fibonacci hashing of the 256-byte unit: neighbouring blocks land far apart.
    return entries_[((address >> 8) * 0x9E3779B97F4A7C15ULL) >> (64 - kEntryBits)];
  }

  [[nodiscard]] shard& shard_of(std::uintptr_t address) const noexcept {
    // Bits above the 256-byte alignment and below a page, mixed, pick the shard.
    const std::uintptr_t units = address >> 8;
    return shards_[(units ^ (units >> 6) ^ (units >> 12)) % kShards];
  }

  std::unique_ptr<entry[]> entries_;
  /// Records in the overflow: a take that misses the table looks there only when some are.
  std::atomic<std::size_t> overflowed_{0};
  mutable std::array<shard, kShards> shards_;
};

}  // namespace gpumem::preload
