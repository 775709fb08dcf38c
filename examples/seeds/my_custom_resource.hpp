#pragma once
// added: the README's device_buffer and device_uvector examples (seeds 21 and 22) allocate with
// `new my_custom_resource{...}` without defining it. This is one: a device_memory_resource that
// takes memory from cudaMallocAsync/cudaFreeAsync on the stream given and counts what it serves,
// so the examples can check that their second container came from it. Not from any seed.

#include <rmm/mr/device/device_memory_resource.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <new>

class my_custom_resource final : public rmm::mr::device_memory_resource {
 public:
  /// Allocations served and not yet freed.
  [[nodiscard]] int outstanding_allocations() const noexcept { return outstanding_; }
  /// Bytes served and not yet freed.
  [[nodiscard]] std::size_t outstanding_bytes() const noexcept { return bytes_; }

 private:
  void* do_allocate(std::size_t bytes, rmm::cuda_stream_view stream) override {
    void* ptr = nullptr;
    if (cudaMallocAsync(&ptr, bytes, stream.value()) != cudaSuccess) throw std::bad_alloc{};
    ++outstanding_;
    bytes_ += bytes;
    return ptr;
  }
  void do_deallocate(void* ptr, std::size_t bytes, rmm::cuda_stream_view stream) noexcept override {
    (void)cudaFreeAsync(ptr, stream.value());
    --outstanding_;
    bytes_ -= bytes;
  }

  int outstanding_{0};
  std::size_t bytes_{0};
};
