#pragma once

/**
 * @file device_buffer.hpp
 * @brief Untyped, uninitialized, stream-ordered device memory (RAII).
 */

#include <cstddef>
#include <cstdint>

#include "gpumem/cuda_device.hpp"
#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/mr/per_device_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem {

/**
 * @brief An untyped, uninitialized block of device memory, allocated and freed in stream
 * order through a memory resource.
 *
 * The buffer holds a non-owning reference to its resource, which must outlive it. It records
 * the device current at its construction and makes that device current for every allocation
 * and deallocation, including in its destructor, so it may be destroyed or resized while
 * another device is current. The memory is valid on `stream()` at once; another stream may
 * use it only after synchronizing with `stream()`. `capacity()` bytes are allocated, of which
 * `size()` are in use. Movable; copying needs a stream, so the copy constructor takes one.
 *
 * Example: `gpumem::device_buffer buffer{1024, stream};` allocates 1024 bytes on `stream` from
 * the current device's resource.
 */
class device_buffer {
 public:
  /// An empty buffer (no allocation) of the current device's resource, on the default stream.
  device_buffer();

  /**
   * @brief Allocates `size` uninitialized bytes on `stream` from `mr`.
   * @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails; nothing leaks
   */
  explicit device_buffer(std::size_t size,
                         cuda_stream_view stream,
                         device_async_resource_ref mr = mr::get_current_device_resource_ref());

  /**
   * @brief Allocates `size` bytes on `stream` from `mr` and copies `size` bytes from
   * `source_data`, host or device memory, on `stream` (cudaMemcpyAsync, cudaMemcpyDefault).
   * Returns without synchronizing: host source memory must stay valid until `stream` has
   * completed the copy.
   * @throws gpumem::logic_error when `size` > 0 and `source_data` is null
   * @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails
   * @throws gpumem::cuda_error when the copy fails
   * Whatever throws, the allocation is freed.
   */
  device_buffer(const void* source_data,
                std::size_t size,
                cuda_stream_view stream,
                device_async_resource_ref mr = mr::get_current_device_resource_ref());

  /**
   * @brief A deep copy of `other`'s `size()` bytes into a new allocation of exactly that size,
   * made on `stream` from `mr`. `other`'s contents must be ready on `stream`.
   * @throws as device_buffer(const void*, std::size_t, cuda_stream_view, device_async_resource_ref)
   */
  device_buffer(const device_buffer& other,
                cuda_stream_view stream,
                device_async_resource_ref mr = mr::get_current_device_resource_ref());

  /// Takes `other`'s memory, stream, resource and device; `other` becomes empty (null data,
  /// size and capacity 0, default stream).
  device_buffer(device_buffer&& other) noexcept;

  /// Frees this buffer's memory (on its own stream, with its own device current), then takes
  /// `other`'s as the move constructor does.
  device_buffer& operator=(device_buffer&& other) noexcept;

  /// Frees the memory on `stream()` with the buffer's device current.
  ~device_buffer() noexcept;

  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;

  /**
   * @brief Makes room for `new_capacity` bytes, keeping the contents and size. Does nothing but
   * set the stream when `new_capacity <= capacity()`; otherwise allocates `new_capacity` bytes,
   * copies `size()` bytes and frees the old memory, all on `stream`, which becomes the
   * buffer's stream.
   * @throws gpumem::bad_alloc (or out_of_memory) when the allocation fails; the buffer is then
   * unchanged
   * @throws gpumem::cuda_error when the copy fails
   */
  void reserve(std::size_t new_capacity, cuda_stream_view stream);

  /**
   * @brief Sets the size to `new_size` bytes. Within the capacity nothing is allocated or
   * copied; beyond it, `new_size` bytes are allocated, the `size()` bytes in use copied and
   * the old memory freed, all on `stream`, which becomes the buffer's stream. Bytes beyond the
   * old size are uninitialized.
   * @throws as reserve()
   */
  void resize(std::size_t new_size, cuda_stream_view stream);

  /**
   * @brief Makes the capacity equal to the size: when they differ, allocates `size()` bytes,
   * copies the contents and frees the old memory on `stream`, which becomes the buffer's stream.
   * @throws as reserve()
   */
  void shrink_to_fit(cuda_stream_view stream);

  /// The device memory (null when nothing is allocated).
  [[nodiscard]] const void* data() const noexcept { return data_; }
  /// @copydoc data() const
  [[nodiscard]] void* data() noexcept { return data_; }
  /// The number of bytes in use.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// The number of bytes in use, signed.
  [[nodiscard]] std::int64_t ssize() const noexcept { return static_cast<std::int64_t>(size_); }
  /// Whether no byte is in use.
  [[nodiscard]] bool is_empty() const noexcept { return size_ == 0; }
  /// The number of bytes allocated.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// The stream of the buffer's allocation, copies and deallocation.
  [[nodiscard]] cuda_stream_view stream() const noexcept { return stream_; }
  /// Sets the stream of later operations and of the deallocation. The memory must be ready to
  /// use on `stream` (synchronize with the previous stream first).
  void set_stream(cuda_stream_view stream) noexcept { stream_ = stream; }
  /// The resource that allocates and frees the memory.
  [[nodiscard]] device_async_resource_ref memory_resource() const noexcept { return mr_; }

 private:
  /// Allocates `bytes` on stream_ with device_ current (null for 0 bytes).
  void* allocate_bytes(std::size_t bytes);
  /// Frees `bytes` at `ptr` on stream_ with device_ current; never throws.
  void free_bytes(void* ptr, std::size_t bytes) noexcept;
  /// Replaces the memory by a new allocation of `new_capacity` bytes holding the first
  /// `size_` bytes; the buffer is unchanged when this throws.
  void reallocate(std::size_t new_capacity);

  void* data_{nullptr};
  std::size_t size_{0};
  std::size_t capacity_{0};
  cuda_stream_view stream_{};
  device_async_resource_ref mr_;
  cuda_device_id device_;
};

}  // namespace gpumem
