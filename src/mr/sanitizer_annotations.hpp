#pragma once
// What a sub-allocator tells compute-sanitizer about its memory (NVTX's memory API): each slab
// is a heap, each served block a region in it, so memcheck checks accesses against the blocks
// the program was given, as it does for memory from cudaMalloc.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gpumem/detail/spin_lock.hpp"

namespace gpumem::mr::detail {

/**
 * @brief Registers a sub-allocator's slabs as NVTX heaps and its served blocks as regions in
 * them.
 *
 * Inside a pool every served block is part of one large CUDA allocation, so without this
 * `compute-sanitizer --tool memcheck` sees no overrun of a block; with it, an access outside
 * every served block of a slab is reported ("Invalid __global__ write"). When no tool is
 * attached (the usual case) NVTX answers the first heap registration without a handle, and
 * every later call costs one load and branch. compute-sanitizer (2025.3) refuses heaps in CUDA
 * virtual-memory mappings ("nvtxMemHeapRegister failed: One or more of the parameters is
 * invalid", for a mapping of one chunk as for a whole reservation): an owner registers only
 * memory from cudaMalloc/cuMemAlloc. Thread safe.
 */
class sanitizer_annotations {
 public:
  /// Registers [address, address + extent) as a heap of served blocks.
  void heap_added(std::uintptr_t address, std::size_t extent) noexcept;
  /// Unregisters the heap starting at `address` (its regions go with it).
  void heap_removed(std::uintptr_t address) noexcept;
  /// Registers a block of `bytes` (as requested) handed out at `address`.
  void block_served(std::uintptr_t address, std::size_t bytes) noexcept {
    // Inline: on every allocation, and nothing to do unless the sanitizer's tool is attached.
    if (attached_.load(std::memory_order_acquire)) register_block(address, bytes);
  }
  /// Unregisters the block at `address`, given back.
  void block_returned(std::uintptr_t address) noexcept {
    if (attached_.load(std::memory_order_acquire)) unregister_block(address);
  }

  /**
   * @brief Narrows a registered block to the `bytes` its user asked for (layers above a pool
   * ask for sizes rounded up to 256 bytes; the shim knows the program's size). Nothing unless
   * some heap was registered in the process.
   */
  static void block_requested(const void* pointer, std::size_t bytes) noexcept;

  /// Whether a tool reads NVTX in this process (compute-sanitizer, Nsight Systems).
  [[nodiscard]] static bool tool_attached() noexcept;

 private:
  void register_block(std::uintptr_t address, std::size_t bytes) noexcept;
  void unregister_block(std::uintptr_t address) noexcept;

  struct heap {
    std::uintptr_t address;
    std::size_t extent;
    void* handle;
  };

  /// Whether a tool took a heap of this owner (nothing else is done before one did).
  std::atomic<bool> attached_{false};
  /// Whether a tool took any heap in the process.
  static std::atomic<bool> any_heap_;
  gpumem::detail::spin_lock lock_;
  std::vector<heap> heaps_;  ///< ascending addresses
};

}  // namespace gpumem::mr::detail
