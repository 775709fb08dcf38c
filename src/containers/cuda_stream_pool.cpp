#include "gpumem/cuda_stream_pool.hpp"

#include "gpumem/detail/error_macros.hpp"

namespace gpumem {

cuda_stream_pool::cuda_stream_pool(std::size_t pool_size, cuda_stream::flags stream_flags) {
  GPUMEM_EXPECTS(pool_size > 0, "cuda_stream_pool: the pool size must be greater than zero");
  streams_.reserve(pool_size);
  for (std::size_t i = 0; i < pool_size; ++i)
    streams_.emplace_back(stream_flags);
}

cuda_stream_view cuda_stream_pool::get_stream() const noexcept {
  // Relaxed: the counter only spreads callers over the streams; it orders nothing.
  return streams_[next_stream_.fetch_add(1, std::memory_order_relaxed) % streams_.size()].view();
}

cuda_stream_view cuda_stream_pool::get_stream(std::size_t stream_id) const {
  return streams_[stream_id % streams_.size()].view();
}

}  // namespace gpumem
