#pragma once

/**
 * @file device_uvector.hpp
 * @brief A typed, uninitialized, stream-ordered vector in device memory.
 */

#include <cuda_runtime_api.h>
#include <thrust/iterator/reverse_iterator.h>

#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cuda/std/span>
#include <limits>
#include <type_traits>
#include <utility>

#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "gpumem/device_buffer.hpp"
#include "gpumem/mr/per_device_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem {

/**
 * @brief A vector of `T` in device memory whose elements are not initialized.
 *
 * Leaving elements uninitialized is why `T` must be trivially copyable. Storage is a
 * device_buffer, so allocation and deallocation are stream ordered, go through a memory
 * resource that must outlive the vector, and happen with the device current at construction.
 * Iterators are raw device pointers (usable by Thrust with a device execution policy).
 * Element access from the host (element(), set_element(), ...) copies through CUDA and is slow:
 * use it sparingly. Movable; copying needs a stream.
 *
 * Example: `gpumem::device_uvector<int> v(100, stream);`
 */
template <typename T>
class device_uvector {
  static_assert(std::is_trivially_copyable_v<T>,
                "device_uvector only supports types that are trivially copyable.");

 public:
  using value_type = T;                       ///< the element type
  using size_type = std::size_t;              ///< the type of sizes and indices
  using reference = value_type&;              ///< a reference to an element (device memory)
  using const_reference = const value_type&;  ///< a const reference to an element (device memory)
  using pointer = value_type*;                ///< the type of data()
  using const_pointer = const value_type*;    ///< the type of data() const
  using iterator = pointer;                   ///< the type of begin()
  using const_iterator = const_pointer;       ///< the type of cbegin()
  using reverse_iterator = thrust::reverse_iterator<iterator>;  ///< the type of rbegin()
  using const_reverse_iterator =
      thrust::reverse_iterator<const_iterator>;  ///< the type of crbegin()

  device_uvector() = delete;
  device_uvector(const device_uvector&) = delete;
  device_uvector& operator=(const device_uvector&) = delete;
  /// Takes `other`'s storage; `other` becomes empty.
  device_uvector(device_uvector&&) noexcept = default;
  /// Frees this vector's storage, then takes `other`'s; `other` becomes empty.
  device_uvector& operator=(device_uvector&&) noexcept = default;
  ~device_uvector() = default;

  /**
   * @brief Allocates `size` uninitialized elements on `stream` from `mr`.
   * @throws gpumem::out_of_range when `size * sizeof(T)` does not fit a std::size_t
   * @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails
   */
  explicit device_uvector(size_type size,
                          cuda_stream_view stream,
                          device_async_resource_ref mr = mr::get_current_device_resource_ref())
      : storage_{elements_to_bytes(size), stream, mr} {}

  /**
   * @brief A deep copy of `other`'s elements, allocated on `stream` from `mr`; `other`'s
   * contents must be ready on `stream`.
   * @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails
   * @throws gpumem::cuda_error when the copy fails
   */
  explicit device_uvector(const device_uvector& other,
                          cuda_stream_view stream,
                          device_async_resource_ref mr = mr::get_current_device_resource_ref())
      : storage_{other.storage_, stream, mr} {}

  /// A pointer to element `element_index`. @pre element_index < size()
  [[nodiscard]] pointer element_ptr(size_type element_index) noexcept {
    assert(element_index < size());
    return data() + element_index;
  }
  /// @copydoc element_ptr
  [[nodiscard]] const_pointer element_ptr(size_type element_index) const noexcept {
    assert(element_index < size());
    return data() + element_index;
  }

  /**
   * @brief Copies `value` from the host to element `element_index` on `stream`, without
   * synchronizing: `value` must stay alive and unchanged until `stream` has completed the copy.
   * @throws gpumem::out_of_range when `element_index >= size()`
   * @throws gpumem::cuda_error when the copy fails
   */
  void set_element_async(size_type element_index,
                         const value_type& value,
                         cuda_stream_view stream) {
    check_index(element_index);
    GPUMEM_CUDA_TRY(cudaMemcpyAsync(
        element_ptr(element_index), &value, sizeof(value_type), cudaMemcpyDefault, stream.value()));
  }

  /// Forbidden: a temporary could be destroyed before the asynchronous copy reads it. Use an
  /// lvalue that outlives the copy, or set_element().
  void set_element_async(size_type, const value_type&&, cuda_stream_view) = delete;

  /**
   * @brief Sets element `element_index` to all zero bytes on `stream` (cudaMemsetAsync), without
   * synchronizing.
   * @throws gpumem::out_of_range when `element_index >= size()`
   * @throws gpumem::cuda_error when the memset fails
   */
  void set_element_to_zero_async(size_type element_index, cuda_stream_view stream) {
    check_index(element_index);
    GPUMEM_CUDA_TRY(
        cudaMemsetAsync(element_ptr(element_index), 0, sizeof(value_type), stream.value()));
  }

  /**
   * @brief Copies `value` to element `element_index` on `stream` and synchronizes `stream`.
   * @throws gpumem::out_of_range when `element_index >= size()`
   * @throws gpumem::cuda_error when the copy or the synchronization fails
   */
  void set_element(size_type element_index, const value_type& value, cuda_stream_view stream) {
    set_element_async(element_index, value, stream);
    stream.synchronize();
  }

  /**
   * @brief Copies element `element_index` to the host on `stream`, synchronizes `stream` and
   * returns it.
   * @throws gpumem::out_of_range when `element_index >= size()`
   * @throws gpumem::cuda_error when the copy or the synchronization fails
   */
  [[nodiscard]] value_type element(size_type element_index, cuda_stream_view stream) const {
    check_index(element_index);
    // Bytes rather than a value_type: T need not be default constructible.
    std::array<std::byte, sizeof(value_type)> bytes{};
    GPUMEM_CUDA_TRY(cudaMemcpyAsync(bytes.data(),
                                    element_ptr(element_index),
                                    sizeof(value_type),
                                    cudaMemcpyDefault,
                                    stream.value()));
    stream.synchronize();
    return std::bit_cast<value_type>(bytes);
  }

  /// The first element, as element(0, stream). @throws gpumem::out_of_range when empty
  [[nodiscard]] value_type front_element(cuda_stream_view stream) const {
    return element(0, stream);
  }

  /// The last element, as element(size() - 1, stream). @throws gpumem::out_of_range when empty
  [[nodiscard]] value_type back_element(cuda_stream_view stream) const {
    GPUMEM_EXPECTS(
        !is_empty(), "device_uvector: back_element of an empty vector", gpumem::out_of_range);
    return element(size() - 1, stream);
  }

  /**
   * @brief Makes room for `new_capacity` elements, keeping contents and size (see
   * device_buffer::reserve()); `stream` becomes the vector's stream.
   * @throws gpumem::out_of_range when the byte count does not fit a std::size_t
   * @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails
   */
  void reserve(size_type new_capacity, cuda_stream_view stream) {
    storage_.reserve(elements_to_bytes(new_capacity), stream);
  }

  /**
   * @brief Sets the size to `new_size` elements, keeping the first min(size(), new_size)
   * elements; new elements are uninitialized. Within the capacity nothing is allocated (see
   * device_buffer::resize()); `stream` becomes the vector's stream.
   * @throws as reserve()
   */
  void resize(size_type new_size, cuda_stream_view stream) {
    storage_.resize(elements_to_bytes(new_size), stream);
  }

  /// Makes the capacity equal to the size, keeping the contents (see
  /// device_buffer::shrink_to_fit()).
  /// @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails
  void shrink_to_fit(cuda_stream_view stream) { storage_.shrink_to_fit(stream); }

  /// Gives up the storage: returns it as a device_buffer, and the vector becomes empty.
  [[nodiscard]] device_buffer release() noexcept { return std::move(storage_); }

  /// The number of elements the storage holds.
  [[nodiscard]] size_type capacity() const noexcept {
    return storage_.capacity() / sizeof(value_type);
  }

  /// The device memory of the elements (null when nothing is allocated).
  [[nodiscard]] pointer data() noexcept { return static_cast<pointer>(storage_.data()); }
  /// @copydoc data()
  [[nodiscard]] const_pointer data() const noexcept {
    return static_cast<const_pointer>(storage_.data());
  }

  /// An iterator (device pointer) to the first element.
  [[nodiscard]] iterator begin() noexcept { return data(); }
  /// @copydoc begin()
  [[nodiscard]] const_iterator begin() const noexcept { return data(); }
  /// @copydoc begin()
  [[nodiscard]] const_iterator cbegin() const noexcept { return data(); }
  /// An iterator (device pointer) past the last element.
  [[nodiscard]] iterator end() noexcept { return data() + size(); }
  /// @copydoc end()
  [[nodiscard]] const_iterator end() const noexcept { return data() + size(); }
  /// @copydoc end()
  [[nodiscard]] const_iterator cend() const noexcept { return data() + size(); }
  /// A reverse iterator to the last element.
  [[nodiscard]] reverse_iterator rbegin() noexcept { return reverse_iterator{end()}; }
  /// @copydoc rbegin()
  [[nodiscard]] const_reverse_iterator rbegin() const noexcept {
    return const_reverse_iterator{cend()};
  }
  /// @copydoc rbegin()
  [[nodiscard]] const_reverse_iterator crbegin() const noexcept {
    return const_reverse_iterator{cend()};
  }
  /// A reverse iterator before the first element.
  [[nodiscard]] reverse_iterator rend() noexcept { return reverse_iterator{begin()}; }
  /// @copydoc rend()
  [[nodiscard]] const_reverse_iterator rend() const noexcept {
    return const_reverse_iterator{cbegin()};
  }
  /// @copydoc rend()
  [[nodiscard]] const_reverse_iterator crend() const noexcept {
    return const_reverse_iterator{cbegin()};
  }

  /// The number of elements.
  [[nodiscard]] size_type size() const noexcept { return storage_.size() / sizeof(value_type); }
  /// The number of elements, signed.
  [[nodiscard]] std::int64_t ssize() const noexcept { return static_cast<std::int64_t>(size()); }
  /// Whether there is no element.
  [[nodiscard]] bool is_empty() const noexcept { return size() == 0; }

  /// A span over the elements (device memory).
  operator cuda::std::span<value_type>() noexcept {
    return {data(), size()};
  }  // NOLINT(google-explicit-constructor)
  /// A span over the elements (device memory).
  operator cuda::std::span<const value_type>() const noexcept {
    return {data(), size()};
  }  // NOLINT

  /// The resource that allocates and frees the storage.
  [[nodiscard]] device_async_resource_ref memory_resource() const noexcept {
    return storage_.memory_resource();
  }
  /// The stream of the storage's operations and deallocation.
  [[nodiscard]] cuda_stream_view stream() const noexcept { return storage_.stream(); }
  /// Sets the stream of later operations and of the deallocation (see device_buffer::set_stream()).
  void set_stream(cuda_stream_view stream) noexcept { storage_.set_stream(stream); }

 private:
  static std::size_t elements_to_bytes(size_type count) {
    GPUMEM_EXPECTS(count <= std::numeric_limits<std::size_t>::max() / sizeof(value_type),
                   "device_uvector: too many elements for the size of a byte count",
                   gpumem::out_of_range);
    return count * sizeof(value_type);
  }

  void check_index(size_type element_index) const {
    GPUMEM_EXPECTS(element_index < size(),
                   "device_uvector: attempt to access out of bounds element",
                   gpumem::out_of_range);
  }

  device_buffer storage_;
};

}  // namespace gpumem
