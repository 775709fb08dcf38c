#pragma once

/**
 * @file host_memory_resource.hpp
 * @brief The base class of host memory resources (the interface of std::pmr::memory_resource).
 */

#include <cstddef>

#include "gpumem/detail/cccl.hpp"

namespace gpumem::mr {

/**
 * @brief A resource of host memory: allocate(bytes, alignment) / deallocate(ptr, bytes,
 * alignment), with no stream.
 *
 * Derived classes implement do_allocate(), do_deallocate() and, where needed, do_is_equal().
 */
class host_memory_resource {
 public:
  host_memory_resource() = default;
  virtual ~host_memory_resource() = default;
  host_memory_resource(const host_memory_resource&) = default;                 ///< copyable
  host_memory_resource(host_memory_resource&&) noexcept = default;             ///< movable
  host_memory_resource& operator=(const host_memory_resource&) = default;      ///< copyable
  host_memory_resource& operator=(host_memory_resource&&) noexcept = default;  ///< movable

  /**
   * @brief Allocates at least `bytes` bytes aligned to `alignment`.
   * @throws std::bad_alloc (or gpumem::bad_alloc) when the allocation fails
   */
  void* allocate(std::size_t bytes, std::size_t alignment = alignof(std::max_align_t)) {
    return do_allocate(bytes, alignment);
  }

  /// Frees memory from allocate(`bytes`, `alignment`).
  void deallocate(void* ptr, std::size_t bytes, std::size_t alignment = alignof(std::max_align_t)) {
    do_deallocate(ptr, bytes, alignment);
  }

  /// Whether memory from one resource may be freed by the other.
  [[nodiscard]] bool is_equal(const host_memory_resource& other) const noexcept {
    return do_is_equal(other);
  }
  /// @copydoc is_equal
  [[nodiscard]] bool operator==(const host_memory_resource& other) const noexcept {
    return do_is_equal(other);
  }
  /// The negation of operator==.
  [[nodiscard]] bool operator!=(const host_memory_resource& other) const noexcept {
    return !do_is_equal(other);
  }

  /// Host resources hand out host-accessible memory.
  friend void get_property(const host_memory_resource&, cuda::mr::host_accessible) noexcept {}

 private:
  /// Allocates at least `bytes` bytes aligned to `alignment`.
  virtual void* do_allocate(std::size_t bytes, std::size_t alignment) = 0;
  /// Frees an allocation.
  virtual void do_deallocate(void* ptr, std::size_t bytes, std::size_t alignment) = 0;
  /// Whether `other` may free this resource's memory and the reverse.
  [[nodiscard]] virtual bool do_is_equal(const host_memory_resource& other) const noexcept {
    return this == &other;
  }
};

static_assert(cuda::mr::resource_with<host_memory_resource, cuda::mr::host_accessible>);

}  // namespace gpumem::mr
