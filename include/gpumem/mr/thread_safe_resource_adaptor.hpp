#pragma once

/**
 * @file thread_safe_resource_adaptor.hpp
 * @brief Makes a resource that is not thread safe usable from several threads.
 */

#include <cstddef>
#include <mutex>

#include "gpumem/mr/detail/resource_adaptor_core.hpp"

namespace gpumem::mr {
namespace detail {

/// The locking algorithm, independent of the upstream's type (see thread_safe_resource_adaptor).
class thread_safe_adaptor_core : public resource_adaptor_core {
 protected:
  /// Serializes the calls to `upstream`, which must outlive the adaptor.
  explicit thread_safe_adaptor_core(device_async_resource_ref upstream)
      : resource_adaptor_core{upstream} {}

 private:
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  std::mutex mutex_;
};

}  // namespace detail

/**
 * @brief Passes allocations and frees to an upstream resource one at a time: a mutex is held
 * around every upstream call. Every gpumem resource is thread safe already; this is for
 * resources that are not (a user's own, for instance).
 *
 * Construction forms: `Upstream*`, `Upstream&` (the type is deduced:
 * `thread_safe_resource_adaptor safe{my_mr}`) or a `device_async_resource_ref`. Two such
 * adaptors compare equal when their upstreams do (RMM's rule).
 *
 * @tparam Upstream the upstream resource's type (the adaptor holds a reference to it)
 */
template <typename Upstream>
class thread_safe_resource_adaptor final : public detail::thread_safe_adaptor_core {
 public:
  /// Serializes calls to `*upstream`. @throws gpumem::logic_error when `upstream` is null
  explicit thread_safe_resource_adaptor(Upstream* upstream)
      : thread_safe_adaptor_core{
            detail::upstream_ref_checked(upstream, "thread_safe_resource_adaptor")} {}

  /// Serializes calls to `upstream`.
  explicit thread_safe_resource_adaptor(Upstream& upstream) requires(
      !detail::is_device_async_resource_ref_v<Upstream>)
      : thread_safe_adaptor_core{device_async_resource_ref{upstream}} {}

  /// Serializes calls to the resource `upstream` refers to.
  explicit thread_safe_resource_adaptor(device_async_resource_ref upstream)
      : thread_safe_adaptor_core{upstream} {}
};

/// `thread_safe_resource_adaptor safe{my_mr}` deduces the upstream's type.
template <typename Upstream>
requires(!detail::is_device_async_resource_ref_v<Upstream>) thread_safe_resource_adaptor(Upstream&)
->thread_safe_resource_adaptor<Upstream>;
/// `thread_safe_resource_adaptor safe{&my_mr}` deduces the upstream's type.
template <typename Upstream>
thread_safe_resource_adaptor(Upstream*) -> thread_safe_resource_adaptor<Upstream>;
/// An adaptor over a resource reference.
thread_safe_resource_adaptor(device_async_resource_ref)
    ->thread_safe_resource_adaptor<device_memory_resource>;

}  // namespace gpumem::mr
