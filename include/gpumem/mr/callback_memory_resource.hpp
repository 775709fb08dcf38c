#pragma once

/**
 * @file callback_memory_resource.hpp
 * @brief A device memory resource whose allocation and free are functions given by the user.
 */

#include <cstddef>
#include <functional>

#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::mr {

/// Allocates: (bytes, stream, the argument given to the resource) -> pointer. Must return memory
/// valid on the stream, 256-byte aligned, or throw (gpumem::out_of_memory when memory ran out).
using allocate_callback_t = std::function<void*(std::size_t, cuda_stream_view, void*)>;
/// Frees: (pointer, bytes, stream, the argument given to the resource). Must not throw.
using deallocate_callback_t = std::function<void(void*, std::size_t, cuda_stream_view, void*)>;

/**
 * @brief A resource that allocates and frees by calling `allocate_callback(bytes, stream,
 * allocate_arg)` and `deallocate_callback(ptr, bytes, stream, deallocate_arg)`.
 *
 * For wrapping an allocator that exists as functions (from another library or language). The
 * callbacks must be thread safe if the resource is shared among threads. Equal only to itself.
 * Movable, not copyable.
 */
class callback_memory_resource final : public device_memory_resource {
 public:
  /**
   * @brief A resource over the two callbacks and their arguments.
   * @throws gpumem::logic_error when a callback is empty
   */
  callback_memory_resource(allocate_callback_t allocate_callback,
                           deallocate_callback_t deallocate_callback,
                           void* allocate_arg = nullptr,
                           void* deallocate_arg = nullptr);

  ~callback_memory_resource() override = default;
  callback_memory_resource(const callback_memory_resource&) = delete;
  callback_memory_resource& operator=(const callback_memory_resource&) = delete;
  callback_memory_resource(callback_memory_resource&&) noexcept = default;             ///< movable
  callback_memory_resource& operator=(callback_memory_resource&&) noexcept = default;  ///< movable

 private:
  /// @throws what the allocate callback throws
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;

  allocate_callback_t allocate_callback_;
  deallocate_callback_t deallocate_callback_;
  void* allocate_arg_;
  void* deallocate_arg_;
};

}  // namespace gpumem::mr
