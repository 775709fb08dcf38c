#pragma once

/**
 * @file cuda_stream_view.hpp
 * @brief A non-owning, strongly typed view of a CUDA stream.
 */

#include <cuda_runtime_api.h>

#include <cstddef>
#include <ostream>

#include "gpumem/detail/cccl.hpp"

namespace gpumem {

/**
 * @brief A non-owning view of a `cudaStream_t`.
 *
 * A `cudaStream_t` is a pointer, so `0` converts to it silently; this type makes a stream
 * parameter explicit. The default-constructed view is the default stream (stream 0).
 */
class cuda_stream_view {
 public:
  /// The default stream.
  constexpr cuda_stream_view() noexcept = default;
  /// A view of `stream`.
  constexpr cuda_stream_view(cudaStream_t stream) noexcept
      : stream_{stream} {}  // NOLINT(google-explicit-constructor)
  /// A view of the stream a CCCL `cuda::stream_ref` refers to.
  constexpr cuda_stream_view(
      cuda::stream_ref stream) noexcept  // NOLINT(google-explicit-constructor)
      : stream_{stream.get()} {}
  /// Forbidden: `0` is ambiguous; say `cuda_stream_view{}` for the default stream.
  cuda_stream_view(int) = delete;
  /// Forbidden: say `cuda_stream_view{}` for the default stream.
  cuda_stream_view(std::nullptr_t) = delete;

  /// The stream.
  [[nodiscard]] constexpr cudaStream_t value() const noexcept { return stream_; }
  /// The stream, implicitly.
  constexpr operator cudaStream_t() const noexcept {
    return stream_;
  }  // NOLINT(google-explicit-constructor)
  /// The stream as a CCCL `cuda::stream_ref`.
  constexpr operator cuda::stream_ref() const noexcept {
    return cuda::stream_ref{stream_};
  }  // NOLINT

  /// Whether this is the per-thread default stream (also stream 0 in code built with
  /// `--default-stream per-thread`).
  [[nodiscard]] bool is_per_thread_default() const noexcept {
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
    return stream_ == cudaStreamPerThread || stream_ == nullptr;
#else
    return stream_ == cudaStreamPerThread;
#endif
  }

  /// Whether this is the legacy default stream (also stream 0 in code built without
  /// `--default-stream per-thread`).
  [[nodiscard]] bool is_default() const noexcept {
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
    return stream_ == cudaStreamLegacy;
#else
    return stream_ == cudaStreamLegacy || stream_ == nullptr;
#endif
  }

  /**
   * @brief Waits until all work on the stream has completed (cudaStreamSynchronize).
   * @throws gpumem::cuda_error when the synchronization fails
   */
  void synchronize() const;

  /// Waits until all work on the stream has completed, ignoring errors (for destructors).
  void synchronize_no_throw() const noexcept;

 private:
  cudaStream_t stream_{};
};

/// The default stream (stream 0).
inline constexpr cuda_stream_view cuda_stream_default{};
/// The legacy default stream.
inline const cuda_stream_view cuda_stream_legacy{cudaStreamLegacy};
/// The per-thread default stream.
inline const cuda_stream_view cuda_stream_per_thread{cudaStreamPerThread};

/// Views are equal when they view the same stream.
[[nodiscard]] inline bool operator==(cuda_stream_view lhs, cuda_stream_view rhs) noexcept {
  return lhs.value() == rhs.value();
}
/// Views differ when they view different streams.
[[nodiscard]] inline bool operator!=(cuda_stream_view lhs, cuda_stream_view rhs) noexcept {
  return !(lhs == rhs);
}

/// Writes the stream handle, as a pointer.
inline std::ostream& operator<<(std::ostream& os, cuda_stream_view stream) {
  return os << static_cast<const void*>(stream.value());
}

}  // namespace gpumem
