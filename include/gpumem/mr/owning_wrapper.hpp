#pragma once

/**
 * @file owning_wrapper.hpp
 * @brief A resource that owns its upstream resources, so that they live as long as it does.
 */

#include <cstddef>
#include <memory>
#include <tuple>
#include <utility>

#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::mr {

/**
 * @brief Owns the upstream resources (shared) of a `Resource` it builds on them, and forwards
 * every call to that resource.
 *
 * A resource does not own its upstream; with an owning_wrapper the upstreams are destroyed
 * after the wrapped resource, when the last owner lets go. `Resource` must have a constructor
 * taking raw pointers to its upstreams, in the order of `Upstreams`, followed by its own
 * arguments (every gpumem adaptor has one). Prefer make_owning_wrapper().
 *
 *     auto cuda = std::make_shared<cuda_memory_resource>();
 *     auto limited = make_owning_wrapper<limiting_resource_adaptor>(cuda, std::size_t{1} << 30);
 *     // `cuda` lives until `limited` is destroyed.
 *
 * @tparam Resource the wrapped resource's type, a device_memory_resource
 * @tparam Upstreams the types of its upstream resources
 */
template <typename Resource, typename... Upstreams>
class owning_wrapper : public device_memory_resource {
 public:
  /// The shared owners of the upstream resources.
  using upstream_tuple = std::tuple<std::shared_ptr<Upstreams>...>;

  /**
   * @brief Takes shared ownership of `upstreams` and builds `Resource(upstream pointers...,
   * args...)`.
   * @throws what `Resource`'s constructor throws
   */
  template <typename... Args>
  explicit owning_wrapper(upstream_tuple upstreams, Args&&... args)
      : upstreams_{std::move(upstreams)},
        wrapped_{std::apply(
            [&](const auto&... upstream) {
              return std::make_unique<Resource>(upstream.get()..., std::forward<Args>(args)...);
            },
            upstreams_)} {}

  ~owning_wrapper() override = default;  ///< destroys the resource, then lets go of the upstreams
  owning_wrapper(const owning_wrapper&) = delete;
  owning_wrapper& operator=(const owning_wrapper&) = delete;
  owning_wrapper(owning_wrapper&&) = delete;
  owning_wrapper& operator=(owning_wrapper&&) = delete;

  /// The wrapped resource.
  [[nodiscard]] Resource& wrapped() noexcept { return *wrapped_; }
  /// The wrapped resource.
  [[nodiscard]] const Resource& wrapped() const noexcept { return *wrapped_; }

  /// The shared owners of the upstreams.
  [[nodiscard]] const upstream_tuple& upstreams() const noexcept { return upstreams_; }

 private:
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override {
    return wrapped_->allocate(bytes, stream);
  }

  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override {
    wrapped_->deallocate(ptr, bytes, stream);
  }

  /// Equal when the wrapped resources are (comparing with another wrapper's wrapped resource,
  /// or with `other` itself).
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override {
    if (this == &other) return true;
    if (const auto* other_wrapper = dynamic_cast<const owning_wrapper*>(&other);
        other_wrapper != nullptr) {
      return wrapped_->is_equal(*other_wrapper->wrapped_);
    }
    return wrapped_->is_equal(other);
  }

  // Declared first, destroyed last: the upstreams outlive the resource built on them.
  upstream_tuple upstreams_;
  std::unique_ptr<Resource> wrapped_;
};

/**
 * @brief A shared owning_wrapper of a `Resource<Upstreams...>` built on `upstreams` with `args`.
 * @throws what `Resource`'s constructor throws
 */
template <template <typename...> class Resource, typename... Upstreams, typename... Args>
[[nodiscard]] auto make_owning_wrapper(std::tuple<std::shared_ptr<Upstreams>...> upstreams,
                                       Args&&... args) {
  return std::make_shared<owning_wrapper<Resource<Upstreams...>, Upstreams...>>(
      std::move(upstreams), std::forward<Args>(args)...);
}

/**
 * @brief A shared owning_wrapper of a `Resource<Upstream>` built on the single `upstream` with
 * `args`.
 * @throws what `Resource`'s constructor throws
 */
template <template <typename> class Resource, typename Upstream, typename... Args>
[[nodiscard]] auto make_owning_wrapper(std::shared_ptr<Upstream> upstream, Args&&... args) {
  return std::make_shared<owning_wrapper<Resource<Upstream>, Upstream>>(
      std::make_tuple(std::move(upstream)), std::forward<Args>(args)...);
}

}  // namespace gpumem::mr
