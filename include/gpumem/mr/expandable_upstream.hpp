#pragma once

/**
 * @file expandable_upstream.hpp
 * @brief What a sub-allocator needs from an upstream that can grow an allocation in place:
 * a pool over it stays one contiguous range that coalesces across growth, and gives back the
 * free end of that range.
 */

#include <cstddef>
#include <type_traits>

namespace gpumem::mr {

/**
 * @brief An upstream resource whose allocations can grow and shrink at their end.
 *
 * Implemented by expandable_memory_resource, and passed through by limiting_resource_adaptor
 * (which counts the growth against its limit); pool_memory_resource uses it when its upstream
 * implements it (found at construction from the upstream's type or, for a
 * device_memory_resource, with dynamic_cast). An implementation whose growth_unit() is 0 cannot
 * grow (an adaptor over an upstream that cannot).
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

namespace detail {

/// `upstream` as an expandable_upstream, when its type says it is one (for a polymorphic type,
/// such as device_memory_resource, when the object is one); otherwise nullptr.
template <typename Upstream>
expandable_upstream* expandable_of(Upstream* upstream) noexcept {
  if constexpr (std::is_base_of_v<expandable_upstream, Upstream>) {
    return upstream;
  } else if constexpr (std::is_polymorphic_v<Upstream>) {
    return dynamic_cast<expandable_upstream*>(upstream);
  } else {
    return nullptr;
  }
}

}  // namespace detail

}  // namespace gpumem::mr
