#pragma once

/**
 * @file prefetch.hpp
 * @brief Prefetching managed (unified) memory to a device, or to the host, on a stream.
 */

#include <cstddef>
#include <cuda/std/span>

#include "gpumem/cuda_device.hpp"
#include "gpumem/cuda_stream_view.hpp"

namespace gpumem {

/**
 * @brief Prefetches `bytes` bytes of managed memory at `ptr` to `device` on `stream`
 * (cudaMemPrefetchAsync); `cuda_device_id{cudaCpuDeviceId}` prefetches to the host.
 *
 * Does nothing when the device cannot access managed memory concurrently with the host (no
 * prefetching there), and when CUDA answers cudaErrorInvalidValue, which it does for memory
 * that is not managed; that error is cleared, so it does not linger as the runtime's last
 * error.
 * @throws gpumem::cuda_error when the prefetch fails otherwise (an invalid device or stream)
 */
void prefetch(const void* ptr, std::size_t bytes, cuda_device_id device, cuda_stream_view stream);

/**
 * @brief Prefetches the managed memory `data` views to `device` on `stream`: the same as
 * `prefetch(data.data(), data.size_bytes(), device, stream)`.
 * @throws gpumem::cuda_error when the prefetch fails for another reason than the memory not
 * being managed
 */
template <typename T>
void prefetch(cuda::std::span<const T> data, cuda_device_id device, cuda_stream_view stream) {
  prefetch(data.data(), data.size_bytes(), device, stream);
}

/// @copydoc prefetch(cuda::std::span<const T>, cuda_device_id, cuda_stream_view)
template <typename T>
void prefetch(cuda::std::span<T> data, cuda_device_id device, cuda_stream_view stream) {
  prefetch(data.data(), data.size_bytes(), device, stream);
}

}  // namespace gpumem
