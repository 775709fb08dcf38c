#pragma once
// Every allocation the shim served: pointer -> device, size and kind, so a free finds the
// stack that owns the pointer (and a pointer the shim did not serve goes to CUDA untouched).
// Sharded by address, each shard a hash map under its own spin lock, so threads freeing
// different pointers rarely meet.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
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

/// Concurrent map of served allocations.
class pointer_registry {
 public:
  /// Records an allocation. @throws std::bad_alloc when host memory runs out
  void insert(const void* pointer, allocation_record record) {
    shard& home = shard_of(pointer);
    std::lock_guard lock(home.lock);
    home.map.insert(reinterpret_cast<std::uintptr_t>(pointer), record);
  }

  /// Removes and returns an allocation's record; nullopt when the pointer is unknown.
  std::optional<allocation_record> take(const void* pointer) noexcept {
    shard& home = shard_of(pointer);
    std::lock_guard lock(home.lock);
    const allocation_record record = home.map.take(reinterpret_cast<std::uintptr_t>(pointer));
    if (record.size == 0) return std::nullopt;
    return record;
  }

  /// Whether the pointer was served by the shim.
  [[nodiscard]] bool contains(const void* pointer) const noexcept {
    const shard& home = shard_of(pointer);
    std::lock_guard lock(home.lock);
    return home.map.find(reinterpret_cast<std::uintptr_t>(pointer)).size != 0;
  }

 private:
  static constexpr std::size_t kShards = 64;

  struct alignas(64) shard {
    mutable gpumem::detail::spin_lock lock;
    core::address_map<allocation_record> map;
  };

  [[nodiscard]] shard& shard_of(const void* pointer) const noexcept {
    // Bits above the 256-byte alignment and below a page, mixed, pick the shard.
    const auto address = reinterpret_cast<std::uintptr_t>(pointer) >> 8;
    return shards_[(address ^ (address >> 6) ^ (address >> 12)) % kShards];
  }

  mutable std::array<shard, kShards> shards_;
};

}  // namespace gpumem::preload
