#pragma once

/**
 * @file expandable_upstream.hpp
 * @brief What a sub-allocator needs from an upstream that can grow an allocation in place:
 * a pool over it stays one contiguous range that coalesces across growth, and gives back the
 * free end of that range.
 */

#include <cstddef>

namespace gpumem::mr {

/**
 * @brief An upstream resource whose allocations can grow and shrink at their end.
 *
 * Implemented by expandable_memory_resource; pool_memory_resource uses it when its upstream
 * implements it (found at construction from the upstream's type or, for a
 * device_memory_resource, with dynamic_cast).
 */
class expandable_upstream {
 public:
  expandable_upstream() = default;
  virtual ~expandable_upstream() = default;
  expandable_upstream(const expandable_upstream&) = delete;
  expandable_upstream& operator=(const expandable_upstream&) = delete;
  expandable_upstream(expandable_upstream&&) = delete;
  expandable_upstream& operator=(expandable_upstream&&) = delete;

  /**
   * @brief Makes `more` bytes usable right after the allocation [ptr, ptr + size) that this
   * resource made, so it becomes [ptr, ptr + size + more).
   * @param size the allocation's current size, a multiple of growth_unit()
   * @param more a multiple of growth_unit()
   * @return false, with nothing changed, when the addresses after the allocation are taken or
   *         the device has no memory for them
   */
  virtual bool grow_in_place(void* ptr, std::size_t size, std::size_t more) = 0;

  /**
   * @brief Gives back the last `less` bytes of the allocation [ptr, ptr + size), which becomes
   * [ptr, ptr + size - less). The caller makes sure no work still uses them.
   * @param less a multiple of growth_unit(), less than `size`
   */
  virtual void shrink_in_place(void* ptr, std::size_t size, std::size_t less) = 0;

  /// Allocations grow and shrink by multiples of this many bytes.
  [[nodiscard]] virtual std::size_t growth_unit() const noexcept = 0;
};

}  // namespace gpumem::mr
