#pragma once

/**
 * @file aligned_resource_adaptor.hpp
 * @brief Aligns large allocations to a stricter alignment than the upstream's 256 bytes.
 */

#include <cstddef>
#include <mutex>
#include <unordered_map>

#include "gpumem/mr/detail/resource_adaptor_core.hpp"

namespace gpumem::mr {
namespace detail {

/**
 * @brief The aligning algorithm, independent of the upstream's type (see
 * aligned_resource_adaptor). An allocation to align takes `align_up(bytes, 256) + alignment -
 * 256` bytes upstream, which always holds an aligned block of `bytes`; when the aligned address
 * differs from the upstream's, a mutex-guarded map remembers the upstream's address for the free.
 */
class aligned_adaptor_core : public resource_adaptor_core {
 public:
  /// The threshold used when none is given: allocations of 64 KiB and more are aligned.
  static constexpr std::size_t default_alignment_threshold = std::size_t{64} << 10;

  /// The alignment of allocations of at least get_alignment_threshold() bytes.
  [[nodiscard]] std::size_t get_alignment() const noexcept { return alignment_; }

  /// The smallest allocation that is aligned to get_alignment().
  [[nodiscard]] std::size_t get_alignment_threshold() const noexcept {
    return alignment_threshold_;
  }

 protected:
  /**
   * @brief Aligns allocations of at least `alignment_threshold` bytes from `upstream` to
   * `alignment`.
   * @throws gpumem::logic_error when `alignment` is not a power of two
   */
  aligned_adaptor_core(device_async_resource_ref upstream,
                       std::size_t alignment,
                       std::size_t alignment_threshold);

 private:
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  /// Whether an allocation of `bytes` goes to the upstream unchanged.
  [[nodiscard]] bool passes_through(std::size_t bytes) const noexcept;
  /// The upstream size of an aligned allocation of `bytes`.
  [[nodiscard]] std::size_t upstream_size(std::size_t bytes) const noexcept;

  std::size_t alignment_;
  std::size_t alignment_threshold_;
  std::mutex mutex_;
  std::unordered_map<void*, void*> upstream_pointers_;  ///< aligned address -> upstream's address
};

}  // namespace detail

/**
 * @brief Passes allocations to an upstream resource, aligning those of at least
 * `alignment_threshold` bytes (default 64 KiB) to `alignment` (a power of two; default 256,
 * CUDA's, which makes the adaptor a pass-through) by allocating more and remembering the
 * upstream's address. Smaller allocations, and every allocation when `alignment` is at most
 * 256, pass through unchanged (256-byte aligned). Thread safe.
 *
 * Construction forms: (upstream, alignment = CUDA_ALLOCATION_ALIGNMENT, alignment_threshold =
 * 64 KiB) with `Upstream*`, `Upstream&` (the type is deduced: `aligned_resource_adaptor
 * aligned{cuda_mr, 4096}`) or a `device_async_resource_ref`. Two aligned adaptors compare equal
 * when their upstreams do (RMM's rule).
 *
 * @tparam Upstream the upstream resource's type (the adaptor holds a reference to it)
 */
template <typename Upstream>
class aligned_resource_adaptor final : public detail::aligned_adaptor_core {
 public:
  /**
   * @brief Aligns large allocations from `*upstream`.
   * @throws gpumem::logic_error when `upstream` is null or `alignment` is not a power of two
   */
  explicit aligned_resource_adaptor(Upstream* upstream,
                                    std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT,
                                    std::size_t alignment_threshold = default_alignment_threshold)
      : aligned_adaptor_core{detail::upstream_ref_checked(upstream, "aligned_resource_adaptor"),
                             alignment,
                             alignment_threshold} {}

  /// Aligns large allocations from `upstream`. @throws gpumem::logic_error when `alignment` is not
  /// a power of two
  explicit aligned_resource_adaptor(
      Upstream& upstream,
      std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT,
      std::size_t alignment_threshold =
          default_alignment_threshold) requires(!detail::is_device_async_resource_ref_v<Upstream>)
      : aligned_adaptor_core{device_async_resource_ref{upstream}, alignment, alignment_threshold} {}

  /// Aligns large allocations from the resource `upstream` refers to.
  /// @throws gpumem::logic_error when `alignment` is not a power of two
  explicit aligned_resource_adaptor(device_async_resource_ref upstream,
                                    std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT,
                                    std::size_t alignment_threshold = default_alignment_threshold)
      : aligned_adaptor_core{upstream, alignment, alignment_threshold} {}
};

/// `aligned_resource_adaptor aligned{cuda_mr, ...}` deduces the upstream's type.
template <typename Upstream, typename... Args>
requires(!detail::is_device_async_resource_ref_v<Upstream>)
    aligned_resource_adaptor(Upstream&, Args&&...)
->aligned_resource_adaptor<Upstream>;
/// `aligned_resource_adaptor aligned{&cuda_mr, ...}` deduces the upstream's type.
template <typename Upstream, typename... Args>
aligned_resource_adaptor(Upstream*, Args&&...) -> aligned_resource_adaptor<Upstream>;
/// An adaptor over a resource reference.
template <typename... Args>
aligned_resource_adaptor(device_async_resource_ref, Args&&...)
    -> aligned_resource_adaptor<device_memory_resource>;

}  // namespace gpumem::mr
