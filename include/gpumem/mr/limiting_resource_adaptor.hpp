#pragma once

/**
 * @file limiting_resource_adaptor.hpp
 * @brief Refuses allocations that would take the bytes in use through it above a limit.
 */

#include <atomic>
#include <cstddef>

#include "gpumem/mr/detail/resource_adaptor_core.hpp"
#include "gpumem/mr/expandable_upstream.hpp"
#include "gpumem/mr/per_device_resource.hpp"  // as RMM's header: code relies on it

namespace gpumem::mr {
namespace detail {

/**
 * @brief The limiting algorithm, independent of the upstream's type (see
 * limiting_resource_adaptor). The bytes in use are one atomic: an allocation reserves its
 * aligned size with a compare-exchange that never goes above the limit (so a refused request
 * never makes another thread fail), then allocates; a failed upstream allocation gives the
 * reservation back.
 */
class limiting_adaptor_core : public resource_adaptor_core, public expandable_upstream {
 public:
  /// The bytes allocated through this adaptor and not yet freed, each allocation rounded up to
  /// the adaptor's alignment.
  [[nodiscard]] std::size_t get_allocated_bytes() const noexcept {
    return allocated_bytes_.load(std::memory_order_relaxed);
  }

  /// The most bytes that may be in use through this adaptor.
  [[nodiscard]] std::size_t get_allocation_limit() const noexcept { return allocation_limit_; }

  /// Grows an allocation of the upstream in place when the upstream can and the limit allows,
  /// counting the growth (a pool over this adaptor over an expandable source keeps one slab).
  bool grow_in_place(void* ptr, std::size_t size, std::size_t more) override;
  /// Shrinks an allocation of the upstream in place, uncounting what it gave back.
  void shrink_in_place(void* ptr, std::size_t size, std::size_t less) override;
  /// The upstream's unit; 0 when the upstream cannot grow allocations in place.
  [[nodiscard]] std::size_t growth_unit() const noexcept override {
    return below_ != nullptr ? below_->growth_unit() : 0;
  }

 protected:
  /**
   * @brief Limits what passes through to `upstream` to `allocation_limit` bytes, counting each
   * allocation rounded up to `alignment`.
   * @throws gpumem::logic_error when `alignment` is not a power of two
   */
  limiting_adaptor_core(device_async_resource_ref upstream,
                        std::size_t allocation_limit,
                        std::size_t alignment,
                        expandable_upstream* below = nullptr);

 private:
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  [[nodiscard]] std::size_t counted_size(std::size_t bytes) const noexcept;

  /// Takes `size` bytes from the limit; false when they do not fit.
  bool count(std::size_t size) noexcept;

  std::size_t allocation_limit_;
  std::size_t alignment_;
  expandable_upstream* below_;
  std::atomic<std::size_t> allocated_bytes_{0};
};

}  // namespace detail

/**
 * @brief Passes allocations to an upstream resource while the bytes in use through this
 * adaptor stay within `allocation_limit`; beyond it, throws gpumem::out_of_memory stating the
 * request, the limit and the bytes in use. Each allocation counts rounded up to `alignment`
 * (default 256, CUDA's). Thread safe, with atomics (no lock).
 *
 * Construction forms: (upstream, allocation_limit, alignment = CUDA_ALLOCATION_ALIGNMENT) with
 * `Upstream*`, `Upstream&` (the type is deduced: `limiting_resource_adaptor limited{cuda_mr, 1 <<
 * 30}`) or a `device_async_resource_ref`. Two limiting adaptors compare equal when their upstreams
 * do (RMM's rule).
 *
 * @tparam Upstream the upstream resource's type (the adaptor holds a reference to it)
 */
template <typename Upstream>
class limiting_resource_adaptor final : public detail::limiting_adaptor_core {
 public:
  /**
   * @brief Limits allocations from `*upstream` to `allocation_limit` bytes.
   * @throws gpumem::logic_error when `upstream` is null or `alignment` is not a power of two
   */
  limiting_resource_adaptor(Upstream* upstream,
                            std::size_t allocation_limit,
                            std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT)
      : limiting_adaptor_core{detail::upstream_ref_checked(upstream, "limiting_resource_adaptor"),
                              allocation_limit,
                              alignment,
                              detail::expandable_of(upstream)} {}

  /// Limits allocations from `upstream`. @throws gpumem::logic_error when `alignment` is not a
  /// power of two
  limiting_resource_adaptor(
      Upstream& upstream,
      std::size_t allocation_limit,
      std::size_t alignment =
          CUDA_ALLOCATION_ALIGNMENT) requires(!detail::is_device_async_resource_ref_v<Upstream>)
      : limiting_adaptor_core{device_async_resource_ref{upstream},
                              allocation_limit,
                              alignment,
                              detail::expandable_of(&upstream)} {}

  /// Limits allocations from the resource `upstream` refers to.
  /// @throws gpumem::logic_error when `alignment` is not a power of two
  limiting_resource_adaptor(device_async_resource_ref upstream,
                            std::size_t allocation_limit,
                            std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT)
      : limiting_adaptor_core{upstream, allocation_limit, alignment} {}
};

/// `limiting_resource_adaptor limited{cuda_mr, limit}` deduces the upstream's type.
template <typename Upstream, typename... Args>
requires(!detail::is_device_async_resource_ref_v<Upstream>)
    limiting_resource_adaptor(Upstream&, Args&&...)
->limiting_resource_adaptor<Upstream>;
/// `limiting_resource_adaptor limited{&cuda_mr, limit}` deduces the upstream's type.
template <typename Upstream, typename... Args>
limiting_resource_adaptor(Upstream*, Args&&...) -> limiting_resource_adaptor<Upstream>;
/// An adaptor over a resource reference.
template <typename... Args>
limiting_resource_adaptor(device_async_resource_ref, Args&&...)
    -> limiting_resource_adaptor<device_memory_resource>;

}  // namespace gpumem::mr
