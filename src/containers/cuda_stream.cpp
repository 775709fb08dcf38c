#include "gpumem/cuda_stream.hpp"

#include <utility>

#include "gpumem/detail/error_macros.hpp"
#include "mr/stream_retirement.hpp"

namespace gpumem {
namespace {

/// Destroys a stream after telling the resources, which keep per-stream free lists: each
/// records its last event on the stream while it is valid and forgets the handle, which CUDA
/// may give to the next stream created.
void destroy(cudaStream_t stream) noexcept {
  mr::detail::stream_retirement::retire(stream);
  GPUMEM_ASSERT_CUDA_SUCCESS(cudaStreamDestroy(stream));
}

}  // namespace

cuda_stream::cuda_stream(flags stream_flags) {
  GPUMEM_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, static_cast<unsigned int>(stream_flags)));
}

cuda_stream::cuda_stream(cuda_stream&& other) noexcept
    : stream_{std::exchange(other.stream_, nullptr)} {}

cuda_stream& cuda_stream::operator=(cuda_stream&& other) noexcept {
  if (this == &other) return *this;
  if (stream_ != nullptr) destroy(stream_);
  stream_ = std::exchange(other.stream_, nullptr);
  return *this;
}

cuda_stream::~cuda_stream() {
  if (stream_ != nullptr) destroy(stream_);
}

void cuda_stream::synchronize() const {
  view().synchronize();
}

void cuda_stream::synchronize_no_throw() const noexcept {
  view().synchronize_no_throw();
}

}  // namespace gpumem
