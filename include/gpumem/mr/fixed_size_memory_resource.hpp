#pragma once

/**
 * @file fixed_size_memory_resource.hpp
 * @brief A sub-allocator of blocks of one size, in constant time, stream ordered.
 */

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "gpumem/error.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {
namespace detail {

/**
 * @brief The fixed-size resource's algorithm, independent of the upstream's type (see
 * fixed_size_memory_resource).
 *
 * Memory comes from the upstream in chunks of `blocks_to_preallocate` blocks. Free blocks are
 * kept on a stack per stream: reused at once on the stream that freed them, and on another
 * stream only after that stream waits on an event recorded on the freeing stream (no host
 * synchronization). One lock guards the resource; in front of it, each thread keeps blocks it
 * freed lately (up to 1 024 blocks and 64 MiB, blocks of up to 16 MiB) and takes them back for
 * allocations on the same stream without the lock, so threads do not contend. The resource
 * drains those caches into its per-stream lists before it takes another chunk and when their
 * stream ends.
 */
class fixed_size_resource_core : public device_memory_resource {
 public:
  /// The block size when none is given: 1 MiB.
  static constexpr std::size_t default_block_size = std::size_t{1} << 20;
  /// The blocks in the first chunk, and in each chunk the resource grows by, when no count is
  /// given.
  static constexpr std::size_t default_blocks_to_preallocate = 128;

  fixed_size_resource_core(const fixed_size_resource_core&) = delete;
  fixed_size_resource_core& operator=(const fixed_size_resource_core&) = delete;
  fixed_size_resource_core(fixed_size_resource_core&&) = delete;
  fixed_size_resource_core& operator=(fixed_size_resource_core&&) = delete;
  /// Synchronizes the device and gives every chunk back to the upstream.
  ~fixed_size_resource_core() override;

  /// The resource the chunks come from.
  [[nodiscard]] device_async_resource_ref get_upstream_resource() const noexcept {
    return upstream_;
  }

  /// The size of every block (the size asked for at construction, rounded up to 256 bytes).
  [[nodiscard]] std::size_t get_block_size() const noexcept { return block_size_; }

  /// Bytes taken from the upstream: every chunk, whether its blocks are in use or not.
  [[nodiscard]] std::size_t reserved_bytes() const;

 protected:
  /**
   * @param upstream the resource chunks come from
   * @param block_size the size of a block, rounded up to a multiple of 256 bytes
   * @param blocks_to_preallocate the blocks taken from the upstream at once, and at each growth
   * @throws gpumem::logic_error when a size or count is 0, or a chunk's size overflows
   * @throws gpumem::out_of_memory when the first chunk cannot be allocated
   */
  fixed_size_resource_core(device_async_resource_ref upstream,
                           std::size_t block_size,
                           std::size_t blocks_to_preallocate);

 private:
  struct state_type;

  /**
   * @brief Hands out one block for `bytes` (at most the block size); 0 bytes give nullptr.
   * @throws gpumem::out_of_memory when `bytes` exceeds the block size (RMM's behaviour) or the
   *         upstream cannot supply another chunk
   */
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /**
   * @brief Makes the block at `ptr` reusable on `stream` at once.
   * @pre `ptr` came from this resource and is not freed already (a double free is not
   *      detected; a pointer outside every chunk is reported on stderr and ignored)
   */
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  /**
   * @brief A free block for `stream` from the resource's lists (under its lock), else from a
   * new chunk. @throws gpumem::out_of_memory when the upstream cannot supply a chunk
   */
  std::uintptr_t take_block(cuda_stream_view stream);
  /// Frees the block at `address` into `stream`'s list (under the lock), checking it is one of
  /// the resource's.
  void free_block(std::uintptr_t address, cuda_stream_view stream) noexcept;

  device_async_resource_ref upstream_;
  std::size_t block_size_;
  std::size_t blocks_per_chunk_;
  std::unique_ptr<state_type> state_;
};

}  // namespace detail

/**
 * @brief Allocates blocks of one size (get_block_size()) from chunks taken from an upstream
 * resource; allocation and free take constant time.
 *
 * A request of at most the block size gets a whole block; a larger one throws
 * gpumem::out_of_memory. The first chunk (`blocks_to_preallocate` blocks) is taken at
 * construction; when every block is in use the resource takes another chunk of as many
 * blocks. Blocks freed on a stream are reused on that stream at once and on another stream
 * after an event wait (no host synchronization). Destruction synchronizes the device and
 * returns every chunk to the upstream. Thread safe.
 *
 * Construction forms: `fixed_size_memory_resource<cuda_memory_resource> mr{&cuda_mr}`,
 * `fixed_size_memory_resource mr{cuda_mr, block_size, blocks}` (the upstream type is deduced),
 * and from a `device_async_resource_ref`. The upstream must outlive the resource.
 *
 * @tparam Upstream the upstream resource's type (informational: the resource holds a reference)
 */
template <typename Upstream>
class fixed_size_memory_resource final : public detail::fixed_size_resource_core {
 public:
  /**
   * @brief A fixed-size resource over `*upstream`.
   * @throws gpumem::logic_error when `upstream` is null or the sizes are invalid
   * @throws gpumem::out_of_memory when the first chunk cannot be allocated
   */
  explicit fixed_size_memory_resource(
      Upstream* upstream,
      std::size_t block_size = default_block_size,
      std::size_t blocks_to_preallocate = default_blocks_to_preallocate)
      : fixed_size_resource_core(checked(upstream), block_size, blocks_to_preallocate) {}

  /**
   * @brief A fixed-size resource over `upstream`.
   * @throws gpumem::logic_error when the sizes are invalid
   * @throws gpumem::out_of_memory when the first chunk cannot be allocated
   */
  template <typename U = Upstream>
  requires(!std::is_same_v<U, device_async_resource_ref>) explicit fixed_size_memory_resource(
      U& upstream,
      std::size_t block_size = default_block_size,
      std::size_t blocks_to_preallocate = default_blocks_to_preallocate)
      : fixed_size_resource_core(
            device_async_resource_ref{upstream}, block_size, blocks_to_preallocate) {}

  /**
   * @brief A fixed-size resource over the resource `upstream` refers to.
   * @throws gpumem::logic_error when the sizes are invalid
   * @throws gpumem::out_of_memory when the first chunk cannot be allocated
   */
  explicit fixed_size_memory_resource(
      device_async_resource_ref upstream,
      std::size_t block_size = default_block_size,
      std::size_t blocks_to_preallocate = default_blocks_to_preallocate)
      : fixed_size_resource_core(upstream, block_size, blocks_to_preallocate) {}

 private:
  static device_async_resource_ref checked(Upstream* upstream);
};

template <typename Upstream>
device_async_resource_ref fixed_size_memory_resource<Upstream>::checked(Upstream* upstream) {
  if (upstream == nullptr)
    throw gpumem::logic_error{"fixed_size_memory_resource: the upstream resource is null"};
  return device_async_resource_ref{*upstream};
}

/// `fixed_size_memory_resource mr{cuda_mr, block_size}` deduces the upstream's type.
template <typename Upstream, typename... Sizes>
fixed_size_memory_resource(Upstream&, Sizes...) -> fixed_size_memory_resource<Upstream>;
/// `fixed_size_memory_resource mr{&cuda_mr, block_size}` deduces the upstream's type.
template <typename Upstream, typename... Sizes>
fixed_size_memory_resource(Upstream*, Sizes...) -> fixed_size_memory_resource<Upstream>;
/// A fixed-size resource over a resource reference.
template <typename... Sizes>
fixed_size_memory_resource(device_async_resource_ref, Sizes...)
    -> fixed_size_memory_resource<device_memory_resource>;

}  // namespace gpumem::mr
