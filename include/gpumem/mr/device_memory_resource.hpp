#pragma once

/**
 * @file device_memory_resource.hpp
 * @brief The base class of every device memory resource.
 */

#include <cstddef>

#include "gpumem/aligned.hpp"
#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/detail/cccl.hpp"
#include "gpumem/detail/export.hpp"

namespace gpumem::mr {

/**
 * @brief The interface of a stream-ordered device memory resource (RMM's, after
 * `std::pmr::memory_resource`).
 *
 * Stream order: `allocate(bytes, stream)` returns memory that is valid on `stream` at once;
 * another stream may use it only after synchronizing with `stream`. `deallocate(p, bytes,
 * stream)` makes the memory reusable on `stream` right away: `stream` must be a stream on which
 * it is valid to reuse the memory immediately, and it must not be destroyed before the
 * resource is done with it. Every allocation is aligned to at least 256 bytes.
 *
 * A resource belongs to the device that was current when it was created; use it (and destroy
 * it) only while that device is current. Every gpumem resource is thread safe for allocate
 * and deallocate, not for construction and destruction.
 *
 * Derived classes implement do_allocate(), do_deallocate() and, where two distinct objects
 * may free each other's memory, do_is_equal().
 */
class GPUMEM_EXPORT device_memory_resource {
 public:
  device_memory_resource() = default;
  virtual ~device_memory_resource() = default;
  device_memory_resource(const device_memory_resource&) = default;                 ///< copyable
  device_memory_resource(device_memory_resource&&) noexcept = default;             ///< movable
  device_memory_resource& operator=(const device_memory_resource&) = default;      ///< copyable
  device_memory_resource& operator=(device_memory_resource&&) noexcept = default;  ///< movable

  /**
   * @brief Allocates at least `bytes` bytes, valid on `stream` at once.
   * @throws gpumem::out_of_memory when the memory is exhausted
   * @throws gpumem::bad_alloc when the allocation fails otherwise
   */
  void* allocate(std::size_t bytes, cuda_stream_view stream = cuda_stream_view{}) {
    return do_allocate(bytes, stream);
  }

  /**
   * @brief Frees memory from allocate(); reusable on `stream` at once.
   * @pre `ptr` came from allocate(`bytes`, ...) of a resource equal to this one and was not freed
   */
  void deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream = cuda_stream_view{}) {
    do_deallocate(ptr, bytes, stream);
  }

  /// Allocates `bytes` rounded up to `alignment` on the default stream (CCCL's `resource`).
  void* allocate(std::size_t bytes, std::size_t alignment) {
    return do_allocate(align_up(bytes, alignment), cuda_stream_view{});
  }

  /// Frees memory from allocate(bytes, alignment) on the default stream.
  void deallocate(void* ptr, std::size_t bytes, std::size_t alignment) {
    do_deallocate(ptr, align_up(bytes, alignment), cuda_stream_view{});
  }

  /// Allocates `bytes` rounded up to `alignment` on `stream` (CCCL's `async_resource`).
  void* allocate_async(std::size_t bytes, std::size_t alignment, cuda_stream_view stream) {
    return do_allocate(align_up(bytes, alignment), stream);
  }

  /// Allocates `bytes` on `stream`.
  void* allocate_async(std::size_t bytes, cuda_stream_view stream) {
    return do_allocate(bytes, stream);
  }

  /// Frees memory from allocate_async(bytes, alignment, ...) on `stream`.
  void deallocate_async(void* ptr,
                        std::size_t bytes,
                        std::size_t alignment,
                        cuda_stream_view stream) {
    do_deallocate(ptr, align_up(bytes, alignment), stream);
  }

  /// Frees memory from allocate_async(bytes, ...) on `stream`.
  void deallocate_async(void* ptr, std::size_t bytes, cuda_stream_view stream) {
    do_deallocate(ptr, bytes, stream);
  }

  /// Whether memory from one resource may be freed by the other (by default: the same object).
  [[nodiscard]] bool is_equal(const device_memory_resource& other) const noexcept {
    return do_is_equal(other);
  }

  /// @copydoc is_equal
  [[nodiscard]] bool operator==(const device_memory_resource& other) const noexcept {
    return do_is_equal(other);
  }
  /// The negation of operator==.
  [[nodiscard]] bool operator!=(const device_memory_resource& other) const noexcept {
    return !do_is_equal(other);
  }

  /// Device resources hand out device-accessible memory.
  friend void get_property(const device_memory_resource&, cuda::mr::device_accessible) noexcept {}

 private:
  /// Allocates at least `bytes` bytes, 256-byte aligned, valid on `stream`.
  virtual void* do_allocate(std::size_t bytes, cuda_stream_view stream) = 0;
  /// Frees an allocation, reusable on `stream`. (Not declared noexcept, so resources written
  /// for RMM compile unchanged; gpumem's own implementations never throw here.)
  virtual void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) = 0;
  /// Whether `other` may free this resource's memory and the reverse.
  [[nodiscard]] virtual bool do_is_equal(const device_memory_resource& other) const noexcept {
    return this == &other;
  }
};

static_assert(cuda::mr::resource_with<device_memory_resource, cuda::mr::device_accessible>);
static_assert(cuda::mr::async_resource_with<device_memory_resource, cuda::mr::device_accessible>);

}  // namespace gpumem::mr

// A resource reference compares equal to another only when both were made with the same
// equality function, CCCL's _Resource_vtable_builder::_Equal<T>, an inline template each piece
// of code that makes a reference instantiates for itself. Code built with hidden symbols (the
// usual for libraries) keeps its own copy, so a reference made there to a
// device_memory_resource would compare unequal to one made in libgpumem.so for the same
// resource. Instantiated once, in libgpumem.so, and declared here, every piece of code uses that
// one copy (an explicit instantiation is exempt from -fvisibility-inlines-hidden, and extern
// declarations from -fvisibility). CCCL 3.0's internal name: checked by the build of
// src/mr/resource_ref_equality.cpp for other CCCL versions.
#if defined(CCCL_MAJOR_VERSION) && CCCL_MAJOR_VERSION == 3
extern template bool cuda::mr::_Resource_vtable_builder::_Equal<gpumem::mr::device_memory_resource>(
    void*, void*);
#endif
