#pragma once
// Streams that are about to be destroyed. Sub-allocators keep free blocks per stream and, to
// hand such blocks to another stream, record an event on the freeing stream. A program may
// destroy a stream right after freeing on it (CUDA allows that), after which the handle must
// not be touched: the shim announces each destruction here first, while the stream is still
// valid, and every sub-allocator records its last event on it and forgets the handle.

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>

namespace gpumem::mr::detail {

/// What ends: a stream about to be destroyed, or a thread (and with it its per-thread default
/// stream).
struct retirement_notice {
  cudaStream_t stream = nullptr;  ///< the stream, when `thread` is 0
  std::uint64_t thread = 0;       ///< the ending thread's token (this_thread_token()), or 0
};

/// The process's listeners for stream destruction and thread ends.
class stream_retirement {
 public:
  using listener = std::function<void(const retirement_notice&)>;

  /// Adds a listener; returns its id for unsubscribe().
  static std::uint64_t subscribe(listener on_retire);
  /// Removes a listener (before its owner is destroyed).
  static void unsubscribe(std::uint64_t id) noexcept;
  /// Tells every listener that `stream` is about to be destroyed.
  static void retire(cudaStream_t stream) noexcept;
  /// Makes the calling thread tell every listener when it ends (once per thread; cheap after).
  static void watch_this_thread() noexcept;
};

/// Subscribes for its lifetime.
class stream_retirement_subscription {
 public:
  explicit stream_retirement_subscription(stream_retirement::listener on_retire)
      : id_{stream_retirement::subscribe(std::move(on_retire))} {}
  ~stream_retirement_subscription() { stream_retirement::unsubscribe(id_); }
  stream_retirement_subscription(const stream_retirement_subscription&) = delete;
  stream_retirement_subscription& operator=(const stream_retirement_subscription&) = delete;
  stream_retirement_subscription(stream_retirement_subscription&&) = delete;
  stream_retirement_subscription& operator=(stream_retirement_subscription&&) = delete;

 private:
  std::uint64_t id_;
};

}  // namespace gpumem::mr::detail
