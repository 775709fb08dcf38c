#pragma once

/**
 * @file failure_callback_resource_adaptor.hpp
 * @brief Calls a function when an allocation fails, which decides whether to try again.
 */

#include <cstddef>
#include <functional>
#include <utility>

#include "gpumem/error.hpp"
#include "gpumem/mr/detail/resource_adaptor_core.hpp"
#include "gpumem/mr/per_device_resource.hpp"  // as RMM's header: code relies on it

namespace gpumem::mr {

/**
 * @brief Called when an allocation fails: (bytes of the failed allocation, the argument given
 * to the adaptor). Returns true to try the allocation again, false to let the failure propagate.
 */
using failure_callback_t = std::function<bool(std::size_t bytes, void* arg)>;

namespace detail {

/**
 * @brief The part of failure_callback_resource_adaptor that does not depend on the upstream's
 * type or on the exception caught (which the template's allocation loop names).
 */
class failure_callback_adaptor_core : public resource_adaptor_core {
 protected:
  /**
   * @brief Calls `callback(bytes, callback_arg)` when an allocation from `upstream` fails.
   * @throws gpumem::logic_error when `callback` is empty
   */
  failure_callback_adaptor_core(device_async_resource_ref upstream,
                                failure_callback_t callback,
                                void* callback_arg);

  /// Whether the caller should try again: the callback's answer for a failed allocation of `bytes`.
  [[nodiscard]] bool should_retry(std::size_t bytes) { return callback_(bytes, callback_arg_); }

 private:
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  failure_callback_t callback_;
  void* callback_arg_;
};

}  // namespace detail

/**
 * @brief Passes allocations to an upstream resource; when one fails with `ExceptionType`, calls
 * `callback(bytes, callback_arg)`: true tries the allocation again (as often as the callback
 * says so), false rethrows the exception. Other exceptions propagate without a call.
 *
 * Typical use: on out-of-memory, free caches or wait for other work, then retry. The callback
 * may run on several threads at once (one per failing allocation) and must be thread safe if
 * the adaptor is shared. Thread safe otherwise.
 *
 * Construction forms: (upstream, callback, callback_arg) with `Upstream*`, `Upstream&` (the
 * type is deduced: `failure_callback_resource_adaptor retrying{cuda_mr, callback, nullptr}`)
 * or a `device_async_resource_ref`. Two such adaptors compare equal when their upstreams do
 * (RMM's rule).
 *
 * @tparam Upstream the upstream resource's type (the adaptor holds a reference to it)
 * @tparam ExceptionType the failure that calls the callback (default gpumem::out_of_memory)
 */
template <typename Upstream, typename ExceptionType = gpumem::out_of_memory>
class failure_callback_resource_adaptor final : public detail::failure_callback_adaptor_core {
 public:
  /// The exception that calls the callback.
  using exception_type = ExceptionType;

  /**
   * @brief Calls `callback` when an allocation from `*upstream` fails with ExceptionType.
   * @throws gpumem::logic_error when `upstream` is null or `callback` is empty
   */
  failure_callback_resource_adaptor(Upstream* upstream,
                                    failure_callback_t callback,
                                    void* callback_arg)
      : failure_callback_adaptor_core{
            detail::upstream_ref_checked(upstream, "failure_callback_resource_adaptor"),
            std::move(callback),
            callback_arg} {}

  /// Calls `callback` when an allocation from `upstream` fails. @throws gpumem::logic_error when
  /// `callback` is empty
  failure_callback_resource_adaptor(
      Upstream& upstream,
      failure_callback_t callback,
      void* callback_arg) requires(!detail::is_device_async_resource_ref_v<Upstream>)
      : failure_callback_adaptor_core{
            device_async_resource_ref{upstream}, std::move(callback), callback_arg} {}

  /// Calls `callback` when an allocation from the resource `upstream` refers to fails.
  /// @throws gpumem::logic_error when `callback` is empty
  failure_callback_resource_adaptor(device_async_resource_ref upstream,
                                    failure_callback_t callback,
                                    void* callback_arg)
      : failure_callback_adaptor_core{upstream, std::move(callback), callback_arg} {}

 private:
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override {
    while (true) {
      try {
        return allocate_upstream(bytes, stream);
      } catch (const ExceptionType&) {
        if (!should_retry(bytes)) throw;
      }
    }
  }
};

/// `failure_callback_resource_adaptor retrying{cuda_mr, callback, arg}` deduces the upstream's
/// type.
template <typename Upstream, typename... Args>
requires(!detail::is_device_async_resource_ref_v<Upstream>)
    failure_callback_resource_adaptor(Upstream&, Args&&...)
->failure_callback_resource_adaptor<Upstream>;
/// `failure_callback_resource_adaptor retrying{&cuda_mr, callback, arg}` deduces the upstream's
/// type.
template <typename Upstream, typename... Args>
failure_callback_resource_adaptor(Upstream*, Args&&...)
    -> failure_callback_resource_adaptor<Upstream>;
/// An adaptor over a resource reference.
template <typename... Args>
failure_callback_resource_adaptor(device_async_resource_ref, Args&&...)
    -> failure_callback_resource_adaptor<device_memory_resource>;

}  // namespace gpumem::mr
