#pragma once

/**
 * @file stream_destroyed.hpp
 * @brief Telling gpumem's resources that a stream is about to be destroyed.
 *
 * gpumem's stream-ordered resources (pool, arena, binning, fixed-size) keep freed blocks per
 * stream and make another stream wait for them only when it needs them: the event is recorded
 * on the freeing stream then, not at every free (which would cost about a microsecond per
 * free, as in RMM). That needs the freeing stream to be alive when another takes its blocks,
 * so a stream destroyed after frees on it must be announced first:
 * - gpumem::cuda_stream (and rmm::cuda_stream) and cuda_stream_pool do it themselves;
 * - a program that destroys a stream it made itself (cudaStreamDestroy, cuStreamDestroy)
 *   after freeing on it calls notify_stream_destroyed() first;
 * - under the shim (libgpumem_preload.so) nothing is needed: it hooks stream destruction.
 * Each resource then records its last event on the stream while the stream is valid and
 * forgets the handle (which CUDA may give to the next stream created).
 */

#include <cuda_runtime_api.h>

namespace gpumem {

/**
 * @brief Announces that `stream` is about to be destroyed (call it before cudaStreamDestroy).
 * Cheap when no resource has freed on the stream; never throws. A resource that cannot record
 * its event falls back to a device barrier before it reuses the stream's blocks.
 */
void notify_stream_destroyed(cudaStream_t stream) noexcept;

}  // namespace gpumem
