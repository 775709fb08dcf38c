#pragma once

/**
 * @file cuda_stream_pool.hpp
 * @brief A fixed set of CUDA streams handed out round-robin.
 */

#include <atomic>
#include <cstddef>
#include <vector>

#include "gpumem/cuda_stream.hpp"
#include "gpumem/cuda_stream_view.hpp"

namespace gpumem {

/**
 * @brief A pool of CUDA streams that live as long as the pool.
 *
 * get_stream() hands the streams out in turn, so successive calls may return views of the
 * same stream. Getting streams is thread safe. Neither copyable nor movable.
 */
class cuda_stream_pool {
 public:
  /// The number of streams of a pool built without a size.
  static constexpr std::size_t default_size{16};

  /**
   * @brief Creates `pool_size` streams with `stream_flags`.
   * @throws gpumem::logic_error when `pool_size` is 0
   * @throws gpumem::cuda_error when a stream cannot be created
   */
  explicit cuda_stream_pool(std::size_t pool_size = default_size,
                            cuda_stream::flags stream_flags = cuda_stream::flags::sync_default);
  ~cuda_stream_pool() = default;
  cuda_stream_pool(const cuda_stream_pool&) = delete;
  cuda_stream_pool(cuda_stream_pool&&) = delete;
  cuda_stream_pool& operator=(const cuda_stream_pool&) = delete;
  cuda_stream_pool& operator=(cuda_stream_pool&&) = delete;

  /// The next stream of the pool, round-robin (thread safe).
  [[nodiscard]] cuda_stream_view get_stream() const noexcept;

  /// The stream for `stream_id`: the stream at `stream_id % get_pool_size()`, so equal ids
  /// (modulo the size) give the same stream.
  [[nodiscard]] cuda_stream_view get_stream(std::size_t stream_id) const;

  /// The number of streams in the pool.
  [[nodiscard]] std::size_t get_pool_size() const noexcept { return streams_.size(); }

 private:
  std::vector<cuda_stream> streams_;
  mutable std::atomic<std::size_t> next_stream_{0};
};

}  // namespace gpumem
