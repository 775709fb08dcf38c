#pragma once
// A device resource for the allocator tests that records every call it gets: allocation or
// free, pointer, bytes, stream and the device that was current during the call. Its memory
// comes from cudaMalloc on that current device.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "gpumem/aligned.hpp"
#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/mr/per_device_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::test {

/// The size a device_memory_resource receives for a request of `bytes` made through a
/// resource reference with CUDA's alignment, as the allocators make it: rounded up to 256.
inline std::size_t size_seen_by_resource(std::size_t bytes) {
  return gpumem::align_up(bytes, gpumem::CUDA_ALLOCATION_ALIGNMENT);
}

/// One call to an event_recording_resource.
struct resource_event {
  bool allocation{};      ///< allocation (true) or free (false)
  void* ptr{};            ///< the block
  std::size_t bytes{};    ///< its size as the caller gave it
  cudaStream_t stream{};  ///< the stream of the call
  int device{-1};         ///< the device current during the call
};

/// A cudaMalloc resource that records each call (see resource_event). Thread safe.
class event_recording_resource final : public gpumem::mr::device_memory_resource {
 public:
  [[nodiscard]] std::vector<resource_event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  [[nodiscard]] std::vector<resource_event> allocations() const { return of_kind(true); }
  [[nodiscard]] std::vector<resource_event> frees() const { return of_kind(false); }
  /// Bytes allocated and not yet freed.
  [[nodiscard]] std::size_t outstanding_bytes() const {
    std::lock_guard lock(mutex_);
    std::size_t bytes = 0;
    for (const auto& event : events_) {
      if (event.allocation) {
        bytes += event.bytes;
      } else {
        bytes -= event.bytes;
      }
    }
    return bytes;
  }

 private:
  [[nodiscard]] std::vector<resource_event> of_kind(bool allocation) const {
    std::lock_guard lock(mutex_);
    std::vector<resource_event> found;
    for (const auto& event : events_) {
      if (event.allocation == allocation) found.push_back(event);
    }
    return found;
  }
  static int current_device() {
    int device = -1;
    if (cudaGetDevice(&device) != cudaSuccess) (void)cudaGetLastError();
    return device;
  }
  void* do_allocate(std::size_t bytes, gpumem::cuda_stream_view stream) override {
    void* ptr = cuda_.allocate(bytes, stream);
    std::lock_guard lock(mutex_);
    events_.push_back({true, ptr, bytes, stream.value(), current_device()});
    return ptr;
  }
  void do_deallocate(void* ptr,
                     std::size_t bytes,
                     gpumem::cuda_stream_view stream) noexcept override {
    {
      std::lock_guard lock(mutex_);
      events_.push_back({false, ptr, bytes, stream.value(), current_device()});
    }
    cuda_.deallocate(ptr, bytes, stream);
  }

  gpumem::mr::cuda_memory_resource cuda_;
  mutable std::mutex mutex_;
  std::vector<resource_event> events_;
};

/// Makes a resource the current device's resource for a scope, and the previous one again after.
class current_resource_scope {
 public:
  explicit current_resource_scope(gpumem::device_async_resource_ref resource)
      : previous_{gpumem::mr::set_current_device_resource_ref(resource)} {}
  ~current_resource_scope() { gpumem::mr::set_current_device_resource_ref(previous_); }
  current_resource_scope(const current_resource_scope&) = delete;
  current_resource_scope& operator=(const current_resource_scope&) = delete;
  current_resource_scope(current_resource_scope&&) = delete;
  current_resource_scope& operator=(current_resource_scope&&) = delete;

 private:
  gpumem::device_async_resource_ref previous_;
};

/// A CUDA stream for one test (cudaStreamCreate / cudaStreamDestroy).
class test_stream {
 public:
  test_stream() {
    if (cudaStreamCreate(&stream_) != cudaSuccess) {
      (void)cudaGetLastError();
      throw std::runtime_error{"test_stream: cudaStreamCreate failed"};
    }
  }
  ~test_stream() { (void)cudaStreamDestroy(stream_); }
  test_stream(const test_stream&) = delete;
  test_stream& operator=(const test_stream&) = delete;
  test_stream(test_stream&&) = delete;
  test_stream& operator=(test_stream&&) = delete;

  [[nodiscard]] gpumem::cuda_stream_view view() const noexcept {
    return gpumem::cuda_stream_view{stream_};
  }
  [[nodiscard]] cudaStream_t value() const noexcept { return stream_; }

 private:
  cudaStream_t stream_{};
};

}  // namespace gpumem::test
