#pragma once

/**
 * @file polymorphic_allocator.hpp
 * @brief A stream-ordered allocator over any device memory resource (polymorphic_allocator),
 * and an adaptor that binds a stream to a stream-ordered allocator so it meets the standard
 * Allocator requirements (stream_allocator_adaptor).
 */

#include <cstddef>
#include <memory>
#include <type_traits>

#include "gpumem/aligned.hpp"
#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/per_device_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {

/**
 * @brief A stream-ordered allocator of `T` whose memory comes from a device memory resource
 * chosen at run time (the stream-ordered analogue of `std::pmr::polymorphic_allocator`).
 *
 * Containers whose allocator type is `polymorphic_allocator<T>` interoperate whatever resource
 * each one uses. allocate() and deallocate() take the stream; wrap the allocator in a
 * stream_allocator_adaptor where a standard Allocator is needed. Requests reach the resource
 * with CUDA's alignment (256 bytes), so a device_memory_resource receives the size rounded up
 * to a multiple of 256. The resource must outlive every allocation made through the
 * allocator.
 *
 * @tparam T the type of the objects allocated
 */
template <typename T>
class polymorphic_allocator {
 public:
  using value_type = T;  ///< the type of the objects allocated

  /// An allocator over the current device's resource (mr::get_current_device_resource_ref()).
  polymorphic_allocator() = default;

  /**
   * @brief An allocator over `resource` (converts implicitly from a resource reference, a
   * resource or a pointer to one).
   * @pre `resource` outlives the allocator's allocations
   */
  polymorphic_allocator(device_async_resource_ref resource)  // NOLINT(google-explicit-constructor)
      : resource_{resource} {}

  /// An allocator of `T` over the resource of `other`.
  template <typename U>
  polymorphic_allocator(const polymorphic_allocator<U>& other) noexcept  // NOLINT
      : resource_{other.get_upstream_resource()} {}

  /**
   * @brief Allocates room for `count` objects of type `T`, usable on `stream` at once.
   * @throws gpumem::bad_alloc when `count * sizeof(T)` does not fit in a size_t
   * @throws whatever the resource throws (gpumem::out_of_memory, gpumem::bad_alloc)
   */
  [[nodiscard]] value_type* allocate(std::size_t count, cuda_stream_view stream) {
    return static_cast<value_type*>(
        resource_.allocate_async(bytes_of(count), CUDA_ALLOCATION_ALIGNMENT, stream));
  }

  /**
   * @brief Frees what allocate(`count`, ...) returned; the memory may be reused on `stream` at
   * once.
   * @pre `ptr` came from allocate(`count`, ...) of an allocator equal to this one
   */
  void deallocate(value_type* ptr, std::size_t count, cuda_stream_view stream) {
    resource_.deallocate_async(ptr, count * sizeof(T), CUDA_ALLOCATION_ALIGNMENT, stream);
  }

  /// The resource the allocator takes its memory from.
  [[nodiscard]] device_async_resource_ref get_upstream_resource() const noexcept {
    return resource_;
  }

 private:
  static std::size_t bytes_of(std::size_t count) {
    if (count > static_cast<std::size_t>(-1) / sizeof(T)) {
      throw gpumem::bad_alloc{"gpumem: polymorphic_allocator: the request does not fit in memory"};
    }
    return count * sizeof(T);
  }

  device_async_resource_ref resource_{get_current_device_resource_ref()};
};

/// Allocators are equal when their resources are: memory from one may be freed by the other.
template <typename T, typename U>
[[nodiscard]] bool operator==(const polymorphic_allocator<T>& lhs,
                              const polymorphic_allocator<U>& rhs) {
  return lhs.get_upstream_resource() == rhs.get_upstream_resource();
}

/// Allocators differ when their resources do.
template <typename T, typename U>
[[nodiscard]] bool operator!=(const polymorphic_allocator<T>& lhs,
                              const polymorphic_allocator<U>& rhs) {
  return !(lhs == rhs);
}

/**
 * @brief A standard Allocator made of a stream-ordered allocator and a stream: allocate(n) and
 * deallocate(p, n) call the underlying allocator's allocate(n, stream) and
 * deallocate(p, n, stream).
 *
 * Example: `auto adapted = stream_allocator_adaptor(polymorphic_allocator<int>{}, stream);`
 * then `std::allocator_traits<decltype(adapted)>::allocate(adapted, n)`.
 *
 * The stream must outlive the adaptor and every deallocation made through it.
 *
 * @tparam Allocator the stream-ordered allocator: `allocate(n, cuda_stream_view)`,
 * `deallocate(p, n, cuda_stream_view)` and a `value_type`
 */
template <typename Allocator>
class stream_allocator_adaptor {
 public:
  /// The type of the objects allocated (the underlying allocator's).
  using value_type = typename std::allocator_traits<Allocator>::value_type;

  stream_allocator_adaptor() = delete;

  /**
   * @brief Adapts `allocator` with `stream` bound to every call.
   * @pre `stream` outlives the adaptor
   */
  stream_allocator_adaptor(const Allocator& allocator, cuda_stream_view stream)
      : allocator_{allocator}, stream_{stream} {}

  /// An adaptor with the underlying allocator (converted) and the stream of `other`.
  template <typename OtherAllocator>
  stream_allocator_adaptor(const stream_allocator_adaptor<OtherAllocator>& other)  // NOLINT
      : stream_allocator_adaptor{Allocator(other.underlying_allocator()), other.stream()} {}

  /// The adaptor type for objects of type `U`.
  template <typename U>
  struct rebind {
    /// the rebound adaptor, over the rebound underlying allocator
    using other = stream_allocator_adaptor<
        typename std::allocator_traits<Allocator>::template rebind_alloc<U>>;
  };

  /**
   * @brief Allocates room for `count` objects with the underlying allocator on stream().
   * @throws whatever the underlying allocator throws
   */
  [[nodiscard]] value_type* allocate(std::size_t count) {
    return allocator_.allocate(count, stream_);
  }

  /**
   * @brief Frees what allocate(`count`) returned, with the underlying allocator on stream().
   * @pre `ptr` came from allocate(`count`) of an adaptor equal to this one
   */
  void deallocate(value_type* ptr, std::size_t count) {
    allocator_.deallocate(ptr, count, stream_);
  }

  /// The stream bound to every call.
  [[nodiscard]] cuda_stream_view stream() const noexcept { return stream_; }

  /// A copy of the underlying allocator.
  [[nodiscard]] Allocator underlying_allocator() const noexcept { return allocator_; }

 private:
  Allocator allocator_;
  cuda_stream_view stream_;
};

/**
 * @brief `stream_allocator_adaptor(allocator, stream)` for any stream type that converts to a
 * cuda_stream_view (a cuda_stream_view, a cudaStream_t, a gpumem::cuda_stream).
 */
template <typename Allocator, typename Stream>
requires std::is_convertible_v<Stream, cuda_stream_view> stream_allocator_adaptor(Allocator,
                                                                                  Stream&&)
->stream_allocator_adaptor<Allocator>;

/// Adaptors are equal when their underlying allocators are (the streams are not compared).
template <typename A, typename O>
[[nodiscard]] bool operator==(const stream_allocator_adaptor<A>& lhs,
                              const stream_allocator_adaptor<O>& rhs) {
  return lhs.underlying_allocator() == rhs.underlying_allocator();
}

/// Adaptors differ when their underlying allocators do.
template <typename A, typename O>
[[nodiscard]] bool operator!=(const stream_allocator_adaptor<A>& lhs,
                              const stream_allocator_adaptor<O>& rhs) {
  return !(lhs == rhs);
}

/**
 * @brief Binds `stream` to `allocator`: the same as `stream_allocator_adaptor{allocator,
 * stream}`.
 * @pre `stream` outlives the adaptor
 */
template <typename Allocator>
[[nodiscard]] stream_allocator_adaptor<Allocator> make_stream_allocator_adaptor(
    const Allocator& allocator, cuda_stream_view stream) {
  return stream_allocator_adaptor<Allocator>{allocator, stream};
}

}  // namespace gpumem::mr
