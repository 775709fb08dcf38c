#pragma once

/**
 * @file device_scalar.hpp
 * @brief One typed object in device memory, with copies to and from the host.
 */

#include <type_traits>

#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/device_uvector.hpp"
#include "gpumem/mr/per_device_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem {

/**
 * @brief A single object of type `T` in device memory, stream ordered like device_uvector
 * (whose one element it is).
 *
 * `T` must be trivially copyable. Movable; copying needs a stream.
 *
 * Example: `gpumem::device_scalar<int> s{stream}; int v = 42; s.set_value_async(v, stream);
 * int back = s.value(stream);`
 */
template <typename T>
class device_scalar {
 public:
  static_assert(std::is_trivially_copyable_v<T>, "Scalar type must be trivially copyable");

  using value_type = typename device_uvector<T>::value_type;            ///< T
  using size_type = typename device_uvector<T>::size_type;              ///< the type of size()
  using reference = typename device_uvector<T>::reference;              ///< value_type&
  using const_reference = typename device_uvector<T>::const_reference;  ///< const value_type&
  using pointer = typename device_uvector<T>::pointer;                  ///< the type of data()
  using const_pointer = typename device_uvector<T>::const_pointer;  ///< the type of data() const

  device_scalar() = delete;
  device_scalar(const device_scalar&) = delete;
  device_scalar& operator=(const device_scalar&) = delete;
  /// Takes `other`'s storage.
  device_scalar(device_scalar&&) noexcept = default;
  /// Frees this scalar's storage, then takes `other`'s.
  device_scalar& operator=(device_scalar&&) noexcept = default;
  ~device_scalar() = default;

  /**
   * @brief Allocates an uninitialized object on `stream` from `mr`, without synchronizing.
   * @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails
   */
  explicit device_scalar(cuda_stream_view stream,
                         device_async_resource_ref mr = mr::get_current_device_resource_ref())
      : storage_{1, stream, mr} {}

  /**
   * @brief Allocates an object on `stream` from `mr` and copies `initial_value` into it on
   * `stream`, without synchronizing.
   * @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails
   * @throws gpumem::cuda_error when the copy fails
   */
  explicit device_scalar(const value_type& initial_value,
                         cuda_stream_view stream,
                         device_async_resource_ref mr = mr::get_current_device_resource_ref())
      : storage_{1, stream, mr} {
    set_value_async(initial_value, stream);
  }

  /**
   * @brief A deep copy of `other`'s object, allocated on `stream` from `mr`.
   * @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails
   * @throws gpumem::cuda_error when the copy fails
   */
  device_scalar(const device_scalar& other,
                cuda_stream_view stream,
                device_async_resource_ref mr = mr::get_current_device_resource_ref())
      : storage_{other.storage_, stream, mr} {}

  /**
   * @brief Copies the object to the host on `stream`, synchronizes `stream` and returns it.
   * @throws gpumem::cuda_error when the copy or the synchronization fails
   */
  [[nodiscard]] value_type value(cuda_stream_view stream) const {
    return storage_.front_element(stream);
  }

  /**
   * @brief Copies `value` from the host into the object on `stream`, without synchronizing:
   * `value` must stay alive and unchanged until `stream` has completed the copy.
   * @throws gpumem::cuda_error when the copy fails
   */
  void set_value_async(const value_type& value, cuda_stream_view stream) {
    storage_.set_element_async(0, value, stream);
  }

  /// Forbidden: a temporary could be destroyed before the asynchronous copy reads it.
  void set_value_async(const value_type&&, cuda_stream_view) = delete;

  /**
   * @brief Copies `value` into the object on `stream` and synchronizes `stream`, so a temporary
   * is fine. Not in RMM 25.10 (whose seeds' examples call it): set_value_async() plus a
   * synchronization.
   * @throws gpumem::cuda_error when the copy or the synchronization fails
   */
  void set_value(const value_type& value, cuda_stream_view stream) {
    storage_.set_element(0, value, stream);
  }

  /// Sets the object to all zero bytes on `stream` (cudaMemsetAsync), without synchronizing.
  /// @throws gpumem::cuda_error when the memset fails
  void set_value_to_zero_async(cuda_stream_view stream) {
    storage_.set_element_to_zero_async(0, stream);
  }

  /// The object in device memory.
  [[nodiscard]] pointer data() noexcept { return storage_.data(); }
  /// @copydoc data()
  [[nodiscard]] const_pointer data() const noexcept { return storage_.data(); }

  /// Always 1.
  [[nodiscard]] constexpr size_type size() const noexcept { return 1; }

  /// The stream of the storage's operations and deallocation.
  [[nodiscard]] cuda_stream_view stream() const noexcept { return storage_.stream(); }
  /// Sets the stream of later operations and of the deallocation.
  void set_stream(cuda_stream_view stream) noexcept { storage_.set_stream(stream); }

 private:
  device_uvector<T> storage_;
};

}  // namespace gpumem
