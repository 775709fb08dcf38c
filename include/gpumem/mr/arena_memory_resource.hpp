#pragma once

/**
 * @file arena_memory_resource.hpp
 * @brief A sub-allocator that scales with threads: per-thread and per-stream arenas over a
 * global arena.
 */

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "gpumem/error.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {

/// What an arena resource holds, for reports.
struct arena_state {
  std::size_t arena_size;          ///< bytes of the global arena (taken from upstream)
  std::size_t allocated_bytes;     ///< bytes in allocated blocks, small and large
  std::size_t local_arenas;        ///< per-thread and per-stream arenas
  std::size_t superblocks;         ///< superblocks held by local arenas
  std::size_t largest_free_block;  ///< the largest free block of the global arena
};

namespace detail {

/**
 * @brief The arena's algorithm, independent of the upstream's type (see arena_memory_resource).
 *
 * The global arena is a pool (stream ordered, coalescing best fit) of `arena_size` bytes
 * taken from the upstream at construction. Small requests (up to 1 MiB) are served by a local
 * arena: one per thread for the per-thread default stream, one per stream otherwise. A local
 * arena holds 4 MiB superblocks from the global arena and sub-allocates them with its own
 * lock, which only its own thread takes in the common case, so threads do not contend.
 * Requests above 1 MiB go to the global arena. A superblock that becomes entirely free goes
 * back to the global arena (keeping one spare per arena), so memory freed by one thread or
 * stream becomes available to the others and fragmentation stays bounded.
 */
class arena_resource_core : public device_memory_resource {
 public:
  /// Superblocks are taken from the global arena in this size.
  static constexpr std::size_t superblock_size = std::size_t{4} << 20;
  /// Requests above this size go to the global arena.
  static constexpr std::size_t large_request_threshold = std::size_t{1} << 20;

  arena_resource_core(const arena_resource_core&) = delete;
  arena_resource_core& operator=(const arena_resource_core&) = delete;
  arena_resource_core(arena_resource_core&&) = delete;
  arena_resource_core& operator=(arena_resource_core&&) = delete;
  /// Synchronizes the device and gives the global arena back to the upstream.
  ~arena_resource_core() override;

  /// The resource the global arena came from.
  [[nodiscard]] device_async_resource_ref get_upstream_resource() const noexcept {
    return upstream_;
  }

  /// A consistent snapshot of the arena's occupancy.
  [[nodiscard]] arena_state state() const;

  /// A readable account of the global and local arenas (what dump_log_on_failure writes).
  [[nodiscard]] std::string dump() const;

 protected:
  /**
   * @param upstream where the global arena comes from
   * @param arena_size the global arena's size; default: half of the current device's free
   *        memory; rounded down to 256 bytes
   * @param dump_log_on_failure on out of memory, write dump() to gpumem_arena_dump_<pid>.log
   *        and name the file in the exception
   * @throws gpumem::out_of_memory when the global arena cannot be allocated
   */
  arena_resource_core(device_async_resource_ref upstream,
                      std::optional<std::size_t> arena_size,
                      bool dump_log_on_failure);

 private:
  struct state_type;

  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;

  device_async_resource_ref upstream_;
  bool dump_log_on_failure_;
  std::unique_ptr<state_type> state_;
};

}  // namespace detail

/**
 * @brief Per-thread and per-stream arenas over a global arena: allocation cost does not grow
 * with the number of threads (see detail::arena_resource_core for the design).
 *
 * On out of memory it gives every entirely free superblock back to the global arena (after a
 * device synchronization) and retries once, then throws gpumem::out_of_memory; with
 * `dump_log_on_failure` it first writes its state to a file named in the message. Freeing on
 * a stream other than the allocation's synchronizes that stream first (a rare case). Thread
 * safe.
 *
 * @tparam Upstream the upstream's type (informational: the arena holds a reference)
 */
template <typename Upstream>
class arena_memory_resource final : public detail::arena_resource_core {
 public:
  /// An arena over `*upstream`. @throws gpumem::logic_error when `upstream` is null
  explicit arena_memory_resource(Upstream* upstream,
                                 std::optional<std::size_t> arena_size = std::nullopt,
                                 bool dump_log_on_failure = false)
      : arena_resource_core(checked(upstream), arena_size, dump_log_on_failure) {}

  /// An arena over `upstream`.
  template <typename U = Upstream>
  requires(!std::is_same_v<U, device_async_resource_ref>) explicit arena_memory_resource(
      U& upstream,
      std::optional<std::size_t> arena_size = std::nullopt,
      bool dump_log_on_failure = false)
      : arena_resource_core(device_async_resource_ref{upstream}, arena_size, dump_log_on_failure) {}

  /// An arena over the resource `upstream` refers to.
  explicit arena_memory_resource(device_async_resource_ref upstream,
                                 std::optional<std::size_t> arena_size = std::nullopt,
                                 bool dump_log_on_failure = false)
      : arena_resource_core(upstream, arena_size, dump_log_on_failure) {}

 private:
  static device_async_resource_ref checked(Upstream* upstream) {
    if (upstream == nullptr)
      throw gpumem::logic_error{"arena_memory_resource: the upstream resource is null"};
    return device_async_resource_ref{*upstream};
  }
};

/// `arena_memory_resource arena{cuda_mr}` deduces the upstream's type.
template <typename Upstream, typename... Arguments>
arena_memory_resource(Upstream&, Arguments...) -> arena_memory_resource<Upstream>;
/// `arena_memory_resource arena{&cuda_mr}` deduces the upstream's type.
template <typename Upstream, typename... Arguments>
arena_memory_resource(Upstream*, Arguments...) -> arena_memory_resource<Upstream>;
/// An arena over a resource reference.
template <typename... Arguments>
arena_memory_resource(device_async_resource_ref, Arguments...)
    -> arena_memory_resource<device_memory_resource>;

}  // namespace gpumem::mr
