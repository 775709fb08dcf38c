#pragma once

/**
 * @file pool_memory_resource.hpp
 * @brief A coalescing best-fit pool sub-allocator, stream ordered.
 */

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "gpumem/error.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/mr/expandable_upstream.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {

/// What a pool holds, for reports.
struct pool_state {
  std::size_t pool_size;           ///< bytes taken from upstream
  std::size_t allocated_bytes;     ///< bytes in allocated blocks
  std::size_t allocated_blocks;    ///< allocated blocks
  std::size_t free_blocks;         ///< free blocks, over all streams
  std::size_t largest_free_block;  ///< the largest free block, over all streams
  std::size_t streams;             ///< streams that have freed blocks into the pool

  /**
   * @brief The share of free memory a request could not get in one piece: 1 - largest free
   * block / free bytes. 0 when nothing is free, and 0 when nothing is in use (an idle pool's
   * free blocks merge once their streams are done: nothing is lost to fragmentation).
   */
  [[nodiscard]] double fragmentation() const noexcept {
    const std::size_t free = pool_size - allocated_bytes;
    if (free == 0 || free >= pool_size) return 0.0;
    return 1.0 - static_cast<double>(largest_free_block) / static_cast<double>(free);
  }
};

namespace detail {

/**
 * @brief The pool's algorithm, independent of the upstream's type (see pool_memory_resource).
 *
 * Memory comes from the upstream in slabs; blocks are carved from slabs by best fit over a
 * segregated free index (constant time, whatever the number of free blocks) and merged with
 * free neighbours when freed. Free blocks are kept per stream: reused at once on the stream
 * that freed them, and on another stream only after that stream waits on an event recorded
 * on the freeing stream (no host synchronization). One lock guards the pool; in front of it,
 * each thread keeps blocks it freed lately (up to 1 024 blocks, 64 MiB, blocks of up to 16
 * MiB) and takes them back for allocations of the same size on the same stream without the
 * lock, so threads do not contend. The pool drains those caches into its per-stream lists
 * before it grows, releases or fails, and when their stream ends; they count as free in
 * state(). With a release threshold set, frees bypass the caches.
 */
class pool_resource_core : public device_memory_resource {
 public:
  pool_resource_core(const pool_resource_core&) = delete;
  pool_resource_core& operator=(const pool_resource_core&) = delete;
  pool_resource_core(pool_resource_core&&) = delete;
  pool_resource_core& operator=(pool_resource_core&&) = delete;
  /// Synchronizes the device and gives every slab back to the upstream.
  ~pool_resource_core() override;

  /// The resource the pool takes its slabs from.
  [[nodiscard]] device_async_resource_ref get_upstream_resource() const noexcept {
    return upstream_;
  }

  /// Bytes taken from the upstream.
  [[nodiscard]] std::size_t pool_size() const noexcept;

  /// The maximum size, if one was given.
  [[nodiscard]] std::optional<std::size_t> maximum_pool_size() const noexcept { return maximum_; }

  /// A consistent snapshot of the pool's occupancy.
  [[nodiscard]] pool_state state() const;

  /**
   * @brief Gives the slabs that hold no allocated block back to the upstream, after waiting
   * for the device (blocks freed on a stream may still be in use there until it finishes).
   * @return the bytes given back
   */
  std::size_t release();

  /**
   * @brief Makes a free that leaves more than `free_bytes` free in the pool call release()
   * (a device barrier, then whole free slabs and, over an expandable upstream, the slab's free
   * end go back), so an idle pool holds about `free_bytes` beyond what is in use. Off (no
   * threshold) by default; SIZE_MAX turns it off again.
   */
  void set_release_threshold(std::size_t free_bytes) noexcept;

  /**
   * @brief Frees the blocks at `blocks` (each one the pool handed out) on `stream`, as
   * deallocate() of each would, with the calling thread's cache taking them under one
   * acquisition of its lock: for a caller that frees in batches (the shim's quarantine after
   * a device barrier).
   */
  void deallocate_many(std::span<void* const> blocks, cuda_stream_view stream) noexcept;

 protected:
  /**
   * @param upstream the resource slabs come from
   * @param initial_pool_size bytes to take at once (a multiple of 256; may be 0)
   * @param maximum_pool_size the most the pool may take (a multiple of 256, at least the initial
   * size)
   * @throws gpumem::logic_error when a size is not a multiple of 256 or initial > maximum
   * @param expandable the upstream as an expandable_upstream, when it is one: the pool then
   * keeps one slab that grows in place (by what a request needs, in the upstream's units)
   * and gives back its free end on release()
   * @throws gpumem::out_of_memory when the initial slab cannot be allocated
   */
  pool_resource_core(device_async_resource_ref upstream,
                     std::size_t initial_pool_size,
                     std::optional<std::size_t> maximum_pool_size,
                     expandable_upstream* expandable = nullptr);

 private:
  struct state_type;

  /// A block from the calling thread's cache, else take_block(); then the block is recorded
  /// as handed out and registered for compute-sanitizer.
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /// Into the calling thread's cache when the block was recorded as handed out, else
  /// free_block().
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  /// Finds or makes a free block of `bytes` on `stream` (the pool's algorithm, under its lock).
  std::uintptr_t take_block(std::size_t bytes, cuda_stream_view stream);
  /// Frees the block at `address` into `stream`'s list (under the lock), checking it is one of
  /// the pool's; `returned`: compute-sanitizer was told already.
  void free_block(std::uintptr_t address, cuda_stream_view stream, bool returned) noexcept;
  /// Grows the expandable slab in place for `size` bytes and allocates them on `stream`;
  /// 0 when it cannot (the caller then takes a new slab). Called without the pool's lock.
  std::uintptr_t grow_expandable_slab(std::size_t size, cuda_stream_view stream);

  device_async_resource_ref upstream_;
  expandable_upstream* expandable_;
  std::optional<std::size_t> maximum_;
  std::unique_ptr<state_type> state_;
};

}  // namespace detail

/**
 * @brief A coalescing best-fit pool over an upstream resource.
 *
 * Allocation and free cost a few tens of nanoseconds and do not grow with the number of
 * blocks. Blocks freed on a stream are reused on that stream at once and on another stream
 * after an event wait (no host synchronization). The pool grows in slabs of at least its
 * current size (twice the pool), within the maximum; when that fails it retries with the
 * request alone. On failure it throws gpumem::out_of_memory stating the request, the pool's
 * size and maximum, the bytes in use and the largest free block. Thread safe.
 *
 * Construction forms: `pool_memory_resource<cuda_memory_resource> pool{&cuda_mr, initial}`,
 * `pool_memory_resource pool{cuda_mr, initial, maximum}` (the upstream type is deduced), and
 * from a `device_async_resource_ref`. The upstream must outlive the pool.
 *
 * @tparam Upstream the upstream resource's type (informational: the pool holds a reference)
 */
template <typename Upstream>
class pool_memory_resource final : public detail::pool_resource_core {
 public:
  /**
   * @brief A pool over `*upstream`.
   * @throws gpumem::logic_error when `upstream` is null or the sizes are invalid
   */
  pool_memory_resource(Upstream* upstream,
                       std::size_t initial_pool_size,
                       std::optional<std::size_t> maximum_pool_size = std::nullopt)
      : pool_resource_core(checked(upstream),
                           initial_pool_size,
                           maximum_pool_size,
                           detail::expandable_of(upstream)) {}

  /// A pool over `upstream`. @throws gpumem::logic_error when the sizes are invalid
  template <typename U = Upstream>
  requires(!std::is_same_v<U, device_async_resource_ref>)
      pool_memory_resource(U& upstream,
                           std::size_t initial_pool_size,
                           std::optional<std::size_t> maximum_pool_size = std::nullopt)
      : pool_resource_core(device_async_resource_ref{upstream},
                           initial_pool_size,
                           maximum_pool_size,
                           detail::expandable_of(&upstream)) {}

  /// A pool over the resource `upstream` refers to. @throws gpumem::logic_error when the sizes are
  /// invalid
  pool_memory_resource(device_async_resource_ref upstream,
                       std::size_t initial_pool_size,
                       std::optional<std::size_t> maximum_pool_size = std::nullopt)
      : pool_resource_core(upstream, initial_pool_size, maximum_pool_size) {}

 private:
  static device_async_resource_ref checked(Upstream* upstream);
};

template <typename Upstream>
device_async_resource_ref pool_memory_resource<Upstream>::checked(Upstream* upstream) {
  if (upstream == nullptr)
    throw gpumem::logic_error{"pool_memory_resource: the upstream resource is null"};
  return device_async_resource_ref{*upstream};
}

/// `pool_memory_resource pool{cuda_mr, size}` deduces the upstream's type.
template <typename Upstream, typename... Sizes>
pool_memory_resource(Upstream&, Sizes...) -> pool_memory_resource<Upstream>;
/// `pool_memory_resource pool{&cuda_mr, size}` deduces the upstream's type.
template <typename Upstream, typename... Sizes>
pool_memory_resource(Upstream*, Sizes...) -> pool_memory_resource<Upstream>;
/// A pool over a resource reference.
template <typename... Sizes>
pool_memory_resource(device_async_resource_ref, Sizes...)
    -> pool_memory_resource<device_memory_resource>;

}  // namespace gpumem::mr
