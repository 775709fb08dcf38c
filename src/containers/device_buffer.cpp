#include "gpumem/device_buffer.hpp"

#include <cuda_runtime_api.h>

#include <cassert>
#include <utility>

#include "gpumem/aligned.hpp"
#include "gpumem/detail/error_macros.hpp"

namespace gpumem {

namespace {

/// Copies `bytes` from `source` (host or device) to the device memory at `destination`.
void copy_bytes(void* destination, const void* source, std::size_t bytes, cuda_stream_view stream) {
  if (bytes == 0) return;
  GPUMEM_EXPECTS(source != nullptr, "device_buffer: invalid copy from nullptr");
  GPUMEM_EXPECTS(destination != nullptr, "device_buffer: invalid copy to nullptr");
  GPUMEM_CUDA_TRY(cudaMemcpyAsync(destination, source, bytes, cudaMemcpyDefault, stream.value()));
}

}  // namespace

device_buffer::device_buffer()
    : mr_{mr::get_current_device_resource_ref()}, device_{get_current_cuda_device()} {}

device_buffer::device_buffer(std::size_t size,
                             cuda_stream_view stream,
                             device_async_resource_ref mr)
    : stream_{stream}, mr_{mr}, device_{get_current_cuda_device()} {
  data_ = allocate_bytes(size);
  size_ = size;
  capacity_ = size;
}

device_buffer::device_buffer(const void* source_data,
                             std::size_t size,
                             cuda_stream_view stream,
                             device_async_resource_ref mr)
    : device_buffer{size, stream, mr} {
  // The delegated constructor has completed, so the destructor frees the memory if this throws.
  copy_bytes(data_, source_data, size, stream_);
}

device_buffer::device_buffer(const device_buffer& other,
                             cuda_stream_view stream,
                             device_async_resource_ref mr)
    : device_buffer{other.data(), other.size(), stream, mr} {}

device_buffer::device_buffer(device_buffer&& other) noexcept
    : data_{std::exchange(other.data_, nullptr)},
      size_{std::exchange(other.size_, 0)},
      capacity_{std::exchange(other.capacity_, 0)},
      stream_{std::exchange(other.stream_, cuda_stream_view{})},
      mr_{other.mr_},
      device_{other.device_} {}

device_buffer& device_buffer::operator=(device_buffer&& other) noexcept {
  if (this == &other) return *this;
  free_bytes(data_, capacity_);
  data_ = std::exchange(other.data_, nullptr);
  size_ = std::exchange(other.size_, 0);
  capacity_ = std::exchange(other.capacity_, 0);
  stream_ = std::exchange(other.stream_, cuda_stream_view{});
  mr_ = other.mr_;
  device_ = other.device_;
  return *this;
}

device_buffer::~device_buffer() noexcept {
  free_bytes(data_, capacity_);
}

void device_buffer::reserve(std::size_t new_capacity, cuda_stream_view stream) {
  set_stream(stream);
  if (new_capacity > capacity_) reallocate(new_capacity);
}

void device_buffer::resize(std::size_t new_size, cuda_stream_view stream) {
  set_stream(stream);
  if (new_size > capacity_) reallocate(new_size);
  size_ = new_size;
}

void device_buffer::shrink_to_fit(cuda_stream_view stream) {
  set_stream(stream);
  if (size_ != capacity_) reallocate(size_);
}

void* device_buffer::allocate_bytes(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  const cuda_set_device_raii on_device{device_};
  return mr_.allocate_async(bytes, CUDA_ALLOCATION_ALIGNMENT, stream_);
}

void device_buffer::free_bytes(void* ptr, std::size_t bytes) noexcept {
  if (ptr == nullptr) return;
  try {
    const cuda_set_device_raii on_device{device_};
    mr_.deallocate_async(ptr, bytes, CUDA_ALLOCATION_ALIGNMENT, stream_);
  } catch (...) {
    // Freeing with another device current is undefined; leaking is the lesser harm.
    assert(false && "device_buffer: cannot make its device current to free its memory");
  }
}

void device_buffer::reallocate(std::size_t new_capacity) {
  const cuda_set_device_raii on_device{device_};
  void* new_data = allocate_bytes(new_capacity);
  try {
    copy_bytes(new_data, data_, size_, stream_);
  } catch (...) {
    free_bytes(new_data, new_capacity);
    throw;
  }
  free_bytes(data_, capacity_);
  data_ = new_data;
  capacity_ = new_capacity;
}

}  // namespace gpumem
