#pragma once

/**
 * @file new_delete_resource.hpp
 * @brief Host memory from the global operator new / operator delete.
 */

#include <cstddef>

#include "gpumem/mr/host_memory_resource.hpp"

namespace gpumem::mr {

/**
 * @brief Allocates host memory with the global aligned `::operator new(bytes,
 * std::align_val_t{alignment})` and frees it with the matching `::operator delete`.
 *
 * An alignment that is not a power of two is replaced by `alignof(std::max_align_t)`, on
 * allocation and on deallocation alike. Stateless: all instances are equal.
 */
class new_delete_resource final : public host_memory_resource {
 public:
  new_delete_resource() = default;
  ~new_delete_resource() override = default;
  new_delete_resource(const new_delete_resource&) = default;             ///< copyable
  new_delete_resource(new_delete_resource&&) = default;                  ///< movable
  new_delete_resource& operator=(const new_delete_resource&) = default;  ///< copyable
  new_delete_resource& operator=(new_delete_resource&&) = default;       ///< movable

 private:
  /**
   * @brief At least `bytes` bytes aligned to `alignment`.
   * @throws std::bad_alloc when operator new fails
   */
  void* do_allocate(std::size_t bytes, std::size_t alignment) override;
  /// Frees memory from do_allocate(`bytes`, `alignment`).
  void do_deallocate(void* ptr, std::size_t bytes, std::size_t alignment) noexcept override;
  /// Whether `other` is a new_delete_resource.
  [[nodiscard]] bool do_is_equal(const host_memory_resource& other) const noexcept override;
};

static_assert(cuda::mr::resource_with<new_delete_resource, cuda::mr::host_accessible>);

}  // namespace gpumem::mr
