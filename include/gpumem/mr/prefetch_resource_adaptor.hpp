#pragma once

/**
 * @file prefetch_resource_adaptor.hpp
 * @brief Prefetches every new allocation to the current device (for managed memory).
 */

#include <cstddef>

#include "gpumem/mr/detail/resource_adaptor_core.hpp"
#include "gpumem/prefetch.hpp"  // as RMM's header: code relies on it

namespace gpumem::mr {
namespace detail {

/// The prefetching algorithm, independent of the upstream's type (see prefetch_resource_adaptor).
class prefetch_adaptor_core : public resource_adaptor_core {
 protected:
  /// Prefetches what `upstream` allocates; `upstream` must outlive the adaptor.
  explicit prefetch_adaptor_core(device_async_resource_ref upstream)
      : resource_adaptor_core{upstream} {}

 private:
  /// @throws gpumem::cuda_error when the prefetch fails for a reason other than the memory not
  ///         being managed (the allocation is freed first)
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;
};

}  // namespace detail

/**
 * @brief Passes allocations to an upstream resource and prefetches each new block to the
 * current device on the allocation's stream (`cudaMemPrefetchAsync`), so that the first kernel
 * to touch managed memory does not fault its pages in.
 *
 * Only managed memory can be prefetched: when CUDA answers cudaErrorInvalidValue (the memory is
 * not managed, or the size is 0) the error is cleared and the allocation returned as it is.
 * Any other prefetch failure frees the allocation and throws gpumem::cuda_error. Thread safe.
 *
 * Construction forms: `Upstream*`, `Upstream&` (the type is deduced: `prefetch_resource_adaptor
 * prefetching{managed_mr}`) or a `device_async_resource_ref`. Two such adaptors compare equal
 * when their upstreams do (RMM's rule).
 *
 * @tparam Upstream the upstream resource's type (the adaptor holds a reference to it)
 */
template <typename Upstream>
class prefetch_resource_adaptor final : public detail::prefetch_adaptor_core {
 public:
  /// Prefetches allocations from `*upstream`. @throws gpumem::logic_error when `upstream` is null
  explicit prefetch_resource_adaptor(Upstream* upstream)
      : prefetch_adaptor_core{detail::upstream_ref_checked(upstream, "prefetch_resource_adaptor")} {
  }

  /// Prefetches allocations from `upstream`.
  explicit prefetch_resource_adaptor(Upstream& upstream) requires(
      !detail::is_device_async_resource_ref_v<Upstream>)
      : prefetch_adaptor_core{device_async_resource_ref{upstream}} {}

  /// Prefetches allocations from the resource `upstream` refers to.
  explicit prefetch_resource_adaptor(device_async_resource_ref upstream)
      : prefetch_adaptor_core{upstream} {}
};

/// `prefetch_resource_adaptor prefetching{managed_mr}` deduces the upstream's type.
template <typename Upstream>
requires(!detail::is_device_async_resource_ref_v<Upstream>) prefetch_resource_adaptor(Upstream&)
->prefetch_resource_adaptor<Upstream>;
/// `prefetch_resource_adaptor prefetching{&managed_mr}` deduces the upstream's type.
template <typename Upstream>
prefetch_resource_adaptor(Upstream*) -> prefetch_resource_adaptor<Upstream>;
/// An adaptor over a resource reference.
prefetch_resource_adaptor(device_async_resource_ref)
    ->prefetch_resource_adaptor<device_memory_resource>;

}  // namespace gpumem::mr
