#pragma once
// The shim's core: its configuration, one stack per device (and one for managed memory),
// the registry of served pointers, the free policy, out-of-memory handling and the report.
// The interposed functions (runtime_hooks.cpp, driver_hooks.cpp) only translate their
// arguments into requests here and the answers back into CUDA return codes.

#include <cuda.h>

#include <cstddef>
#include <optional>

namespace gpumem::preload {

/// What an interposed allocation or free asks for.
enum class request_kind {
  synchronous,     ///< cudaMalloc, cudaFree, cuMemAlloc, cuMemFree: no stream, device-wide
  stream_ordered,  ///< cudaMallocAsync, cudaFreeAsync, cuMemAllocAsync, cuMemFreeAsync
  managed,         ///< cudaMallocManaged, cuMemAllocManaged (frees are synchronous)
};

/// How to answer the call.
struct answer {
  enum class outcome {
    served,        ///< the shim did it; `pointer` holds the allocation
    pass_through,  ///< let CUDA do it (an unknown pointer, a capture, a bypassed size, ...)
    failed,        ///< return `error` (out of memory)
  };
  outcome what;
  void* pointer = nullptr;
  CUresult error = CUDA_SUCCESS;
  bool no_context = false;  ///< pass_through because no context is current (the runtime makes one)

  static answer served(void* pointer) { return {outcome::served, pointer, CUDA_SUCCESS}; }
  static answer pass_through() { return {outcome::pass_through, nullptr, CUDA_SUCCESS}; }
  static answer without_context() { return {outcome::pass_through, nullptr, CUDA_SUCCESS, true}; }
  static answer failed(CUresult error) { return {outcome::failed, nullptr, error}; }
};

/**
 * @brief Serves an allocation. Never throws.
 * @param stream the stream of a stream-ordered request (ignored otherwise)
 * @param per_thread the request came through a per-thread-default-stream entry point, so
 *        stream 0 means the calling thread's default stream
 * @param check_reset first ask the driver whether the device's context was reset since its
 *        stack was built (one more driver call; for requests through the driver, where a
 *        statically linked runtime's cudaDeviceReset is not seen)
 */
answer allocate(std::size_t bytes,
                request_kind kind,
                CUstream stream = nullptr,
                bool per_thread = false,
                bool check_reset = false) noexcept;

/// Frees a pointer the shim served; pass_through for any other. Never throws.
answer deallocate(void* pointer,
                  request_kind kind,
                  CUstream stream = nullptr,
                  bool per_thread = false) noexcept;

/**
 * @brief Adjusts what CUDA reports as free and total memory of the current device: memory
 * held free in the shim's stacks counts as free; under a limit, the limit is the total.
 */
void adjust_memory_info(std::size_t* free_bytes, std::size_t* total_bytes) noexcept;

/**
 * @brief Called before `device`'s primary context is reset (cudaDeviceReset,
 * cuDevicePrimaryCtxReset): its stacks' memory goes with the context. The stacks are set aside,
 * never used or freed again (their counts carry over to the report); the device's next
 * allocation builds new ones, and frees of blocks served before go to CUDA, as any unknown
 * pointer does.
 */
void forget_device(int device) noexcept;

/// Called before a stream is destroyed (cudaStreamDestroy, cuStreamDestroy): a handle CUDA
/// may hand out again for a stream of another device. Never throws.
void stream_destroyed() noexcept;

/// Called before the program begins a stream capture (cudaStreamBeginCapture and the driver's
/// cuStreamBeginCapture, cuStreamBeginCaptureToGraph): the barrier thread's device barrier,
/// which would break the capture, ends first, and from now on the freeing threads run the
/// barriers. Waits for that barrier. Never throws.
void capture_beginning() noexcept;

/**
 * @brief Whether an IPC handle for `pointer` must be refused: the pointer lies in memory the
 * shim's stacks hold (a handle would share the whole slab, not the block). Says why, once, with
 * the setting that keeps such allocations out of the pool. Never throws.
 */
bool refuse_ipc_handle(const void* pointer) noexcept;

/// How a program lets one device reach another's memory: the two are independent in CUDA.
enum class peer_grant {
  context,      ///< cudaDeviceEnablePeerAccess, cuCtxEnablePeerAccess
  memory_pool,  ///< cudaMemPoolSetAccess, cuMemPoolSetAccess on the device's pool
};

/**
 * @brief Called after the program enabled `accessor`'s access to `peer`'s memory
 * (cudaDeviceEnablePeerAccess, cuCtxEnablePeerAccess): memory an expandable source maps is
 * reachable from another device only once cuMemSetAccess grants it, so `peer`'s expandable
 * source grants `accessor` access to what it maps now and later, and a stack `peer` builds later
 * does too. Never throws (a refusal is logged).
 */
void peer_access_enabled(int accessor, int peer, peer_grant how = peer_grant::context) noexcept;

/**
 * @brief Called after the program disabled `accessor`'s access to `peer`'s memory
 * (cudaDeviceDisablePeerAccess, cuCtxDisablePeerAccess, or a memory pool's access set to none):
 * `peer`'s expandable source takes the grant back, now and for memory mapped later, so
 * `accessor` faults as it would on cudaMalloc memory, unless the other kind of grant still
 * holds (peer access and pool access are independent). Never throws (a refusal is logged).
 */
void peer_access_disabled(int accessor, int peer, peer_grant how = peer_grant::context) noexcept;

/// The device of the calling thread's current context; nullopt without one.
std::optional<int> current_device_id() noexcept;

/// Whether the calling thread is inside a pass-through (so interposed functions it reaches,
/// such as the driver under the runtime, go straight to CUDA).
bool in_pass_through() noexcept;

/// Marks the calling thread as passing a call through for its lifetime.
class pass_through_scope {
 public:
  pass_through_scope() noexcept;
  ~pass_through_scope();
  pass_through_scope(const pass_through_scope&) = delete;
  pass_through_scope& operator=(const pass_through_scope&) = delete;
  pass_through_scope(pass_through_scope&&) = delete;
  pass_through_scope& operator=(pass_through_scope&&) = delete;
};

}  // namespace gpumem::preload
