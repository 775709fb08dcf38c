#pragma once

/**
 * @file cuda_stream.hpp
 * @brief An owning CUDA stream (RAII).
 */

#include <cuda_runtime_api.h>

#include "gpumem/cuda_stream_view.hpp"

namespace gpumem {

/**
 * @brief Owns a CUDA stream: the constructor creates it, the destructor destroys it.
 *
 * It is never the default stream nor the per-thread default stream. It converts implicitly to
 * a cuda_stream_view, so it can be passed wherever a stream view is expected. Movable, not
 * copyable (one stream, one owner); a moved-from cuda_stream is invalid (`is_valid()` is false)
 * and using its stream is undefined behaviour.
 */
class cuda_stream {
 public:
  /// Stream creation flags (cudaStreamCreateWithFlags).
  enum class flags : unsigned int {
    sync_default = cudaStreamDefault,      ///< synchronizes with the legacy default stream
    non_blocking = cudaStreamNonBlocking,  ///< does not synchronize with the legacy default stream
  };

  /**
   * @brief Creates a stream with `stream_flags` (RMM's default: `flags::sync_default`).
   * @throws gpumem::cuda_error when the stream cannot be created
   */
  cuda_stream(
      flags stream_flags = flags::sync_default);  // NOLINT(google-explicit-constructor): as RMM

  /// Takes the stream of `other`, which becomes invalid.
  cuda_stream(cuda_stream&& other) noexcept;
  /// Destroys this stream, then takes the stream of `other`, which becomes invalid.
  cuda_stream& operator=(cuda_stream&& other) noexcept;
  /// Destroys the stream (errors are ignored).
  ~cuda_stream();
  cuda_stream(const cuda_stream&) = delete;
  cuda_stream& operator=(const cuda_stream&) = delete;

  /// Whether this object owns a stream (false once moved from).
  [[nodiscard]] bool is_valid() const noexcept { return stream_ != nullptr; }

  /// The owned stream.
  [[nodiscard]] cudaStream_t value() const noexcept { return stream_; }

  /// The owned stream, on request.
  explicit operator cudaStream_t() const noexcept { return stream_; }

  /// A non-owning view of the owned stream.
  [[nodiscard]] cuda_stream_view view() const noexcept { return cuda_stream_view{stream_}; }

  /// A non-owning view of the owned stream, implicitly.
  operator cuda_stream_view() const noexcept {
    return view();
  }  // NOLINT(google-explicit-constructor)

  /**
   * @brief Waits until all work on the stream has completed (cudaStreamSynchronize).
   * @throws gpumem::cuda_error when the synchronization fails
   */
  void synchronize() const;

  /// Waits until all work on the stream has completed; errors are asserted in debug builds only.
  void synchronize_no_throw() const noexcept;

 private:
  cudaStream_t stream_{};
};

}  // namespace gpumem
