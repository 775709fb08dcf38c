#include "gpumem/cuda_stream_view.hpp"

#include "gpumem/detail/error_macros.hpp"

namespace gpumem {

void cuda_stream_view::synchronize() const {
  GPUMEM_CUDA_TRY(detail::cuda_calls::stream_synchronize(stream_));
}

void cuda_stream_view::synchronize_no_throw() const noexcept {
  GPUMEM_ASSERT_CUDA_SUCCESS(detail::cuda_calls::stream_synchronize(stream_));
}

}  // namespace gpumem
