#pragma once

/**
 * @file resource_adaptor_core.hpp
 * @brief What every resource adaptor shares: the reference to its upstream, the upstream calls,
 * RMM's equality rule and the checks of the construction forms.
 */

#include <cstddef>
#include <string>
#include <type_traits>

#include "gpumem/aligned.hpp"
#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr::detail {

/// Whether `T` is a device_async_resource_ref (cv-qualified or not): such an argument selects
/// an adaptor's reference constructor, never its `Upstream&` constructor.
template <typename T>
inline constexpr bool is_device_async_resource_ref_v =
    std::is_same_v<std::remove_cv_t<T>, device_async_resource_ref>;

/**
 * @brief A reference to `*upstream`.
 * @throws gpumem::logic_error when `upstream` is null; `adaptor` names the adaptor in the message
 */
template <typename Upstream>
[[nodiscard]] device_async_resource_ref upstream_ref_checked(Upstream* upstream,
                                                             const char* adaptor) {
  if (upstream == nullptr) {
    throw gpumem::logic_error{std::string{"gpumem: "} + adaptor +
                              ": the upstream resource pointer is null"};
  }
  return device_async_resource_ref{*upstream};
}

/**
 * @brief The base of every adaptor's compiled core: holds the upstream reference and calls it
 * with CUDA's allocation alignment.
 *
 * Not copyable and not movable: an adaptor's state (counters, maps, a log) belongs to one object.
 */
class resource_adaptor_core : public device_memory_resource {
 public:
  ~resource_adaptor_core() override = default;
  resource_adaptor_core(const resource_adaptor_core&) = delete;
  resource_adaptor_core& operator=(const resource_adaptor_core&) = delete;
  resource_adaptor_core(resource_adaptor_core&&) = delete;
  resource_adaptor_core& operator=(resource_adaptor_core&&) = delete;

  /// The resource this adaptor allocates from.
  [[nodiscard]] device_async_resource_ref get_upstream_resource() const noexcept {
    return upstream_;
  }

 protected:
  /// An adaptor over `upstream`, which must outlive it.
  explicit resource_adaptor_core(device_async_resource_ref upstream) noexcept
      : upstream_{upstream} {}

  /// Allocates `bytes` from the upstream on `stream`, asking for `alignment` (the upstream
  /// rounds the size up to it); throws what the upstream throws.
  void* allocate_upstream(std::size_t bytes,
                          cuda_stream_view stream,
                          std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT) {
    return upstream_.allocate_async(bytes, alignment, stream);
  }

  /// Frees an allocation of the upstream made by allocate_upstream(`bytes`, ..., `alignment`).
  void deallocate_upstream(void* ptr,
                           std::size_t bytes,
                           cuda_stream_view stream,
                           std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT) {
    upstream_.deallocate_async(ptr, bytes, alignment, stream);
  }

  /**
   * @brief RMM's equality of adaptors: `other` is this object, or an adaptor with the same core
   * (`Core`) whose upstream compares equal to this one's.
   */
  template <typename Core>
  [[nodiscard]] bool same_core_and_upstream(const device_memory_resource& other) const noexcept {
    if (this == &other) return true;
    const auto* other_core = dynamic_cast<const Core*>(&other);
    return other_core != nullptr && other_core->get_upstream_resource() == get_upstream_resource();
  }

 private:
  device_async_resource_ref upstream_;
};

}  // namespace gpumem::mr::detail
