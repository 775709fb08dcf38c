#pragma once

/**
 * @file cuda_memory_resource.hpp
 * @brief Device memory straight from cudaMalloc / cudaFree.
 */

#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::mr {

/**
 * @brief Allocates with `cudaMalloc` and frees with `cudaFree`; the stream is ignored, and
 * `cudaFree` synchronizes the device. Stateless: all instances are equal.
 */
class cuda_memory_resource final : public device_memory_resource {
 public:
  cuda_memory_resource() = default;
  ~cuda_memory_resource() override = default;
  cuda_memory_resource(const cuda_memory_resource&) = default;             ///< copyable
  cuda_memory_resource(cuda_memory_resource&&) = default;                  ///< movable
  cuda_memory_resource& operator=(const cuda_memory_resource&) = default;  ///< copyable
  cuda_memory_resource& operator=(cuda_memory_resource&&) = default;       ///< movable

 private:
  /// @throws gpumem::out_of_memory when cudaMalloc reports out of memory, gpumem::bad_alloc
  /// otherwise
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;
};

}  // namespace gpumem::mr
