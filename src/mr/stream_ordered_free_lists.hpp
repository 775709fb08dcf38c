#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "mr/thread_token.hpp"

namespace gpumem::mr::detail {

/**
 * @brief The free blocks of a sub-allocator, one index per stream, and the ordering between
 * streams that makes a block freed on one stream safe to hand out on another.
 *
 * A block freed on stream A is reused on A at once (stream order makes that safe). Before a
 * block freed on A is handed out on B, B must wait for A's work up to the free: an event is
 * recorded on A at that moment and B waits on it (cudaStreamWaitEvent), so the host never
 * blocks, and no event is recorded on the common path (reuse on the same stream). Every block
 * free on A when the event is recorded is covered by it, so all of A's blocks move to B.
 *
 * The per-thread default stream is a different stream in every thread, and only its own
 * thread can record on it: its entry is keyed by thread too, and another stream orders after
 * it through the legacy default stream instead. An event recorded on the legacy stream waits
 * for the work of every blocking stream, per-thread default streams included, so it covers
 * every free made on that thread's stream so far, without an event per free and without
 * blocking the host.
 *
 * Not thread safe: the owning resource serializes access. Events are created lazily and
 * destroyed with the object.
 *
 * @tparam FreeList what holds one stream's free blocks (a segregated_free_index for the pool,
 *         a stack of blocks for the fixed-size resource); default constructible
 */
template <typename FreeList>
class stream_ordered_free_lists {
 public:
  /// One stream's free blocks.
  struct stream_entry {
    cudaStream_t stream;
    std::uint64_t thread;  ///< the owning thread's token, for the per-thread default stream only
    bool per_thread;
    FreeList free_blocks;
    cudaEvent_t event = nullptr;
    bool retired = false;  ///< the stream was destroyed; `event` marks the end of its work
    bool needs_barrier = false;  ///< retired without an event: only a device barrier orders it
  };

  stream_ordered_free_lists() = default;
  stream_ordered_free_lists(const stream_ordered_free_lists&) = delete;
  stream_ordered_free_lists& operator=(const stream_ordered_free_lists&) = delete;
  stream_ordered_free_lists(stream_ordered_free_lists&&) = delete;
  stream_ordered_free_lists& operator=(stream_ordered_free_lists&&) = delete;
  /// Destroys the events (the owner makes sure no work depends on them any more).
  ~stream_ordered_free_lists() {
    for (const auto& entry : entries_) {
      if (entry->event != nullptr)
        GPUMEM_ASSERT_CUDA_SUCCESS(gpumem::detail::cuda_calls::event_destroy(entry->event));
    }
  }

  /// The entry of `stream`, created on first use.
  stream_entry& entry_for(cuda_stream_view stream) {
    if (last_ != nullptr && !last_->retired && last_->stream == stream.value() &&
        (!last_->per_thread || last_->thread == this_thread_token())) {
      return *last_;
    }
    const bool per_thread = stream.value() == cudaStreamPerThread;
    const std::uint64_t thread = per_thread ? this_thread_token() : 0;
    for (const auto& entry : entries_) {
      if (!entry->retired && entry->stream == stream.value() && entry->thread == thread) {
        last_ = entry.get();
        return *last_;
      }
    }
    auto created = std::make_unique<stream_entry>();
    created->stream = stream.value();
    created->thread = thread;
    created->per_thread = per_thread;
    entries_.push_back(std::move(created));
    last_ = entries_.back().get();
    return *last_;
  }

  /**
   * @brief Makes `waiter` wait (on the device, not the host) for the work that `entry`'s
   * stream had before its blocks were freed. @throws gpumem::cuda_error on a CUDA failure
   */
  void order_after(stream_entry& entry, cuda_stream_view waiter) {
    if (entry.retired) {
      if (entry.needs_barrier) {
        GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::device_synchronize());
        entry.needs_barrier = false;
        return;
      }
      wait(entry, waiter);
      return;
    }
    if (entry.event == nullptr) entry.event = make_event();
    // Recording now covers every free made on the stream so far (see the class comment for
    // the per-thread default stream).
    if (gpumem::detail::cuda_calls::event_record(
            entry.event, entry.per_thread ? cudaStreamLegacy : entry.stream) != cudaSuccess) {
      // The stream is gone (destroyed after its last free, which CUDA allows): wait for the
      // whole device instead, after which its blocks are idle.
      gpumem::detail::cuda_calls::clear_last_error();
      GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::device_synchronize());
      return;
    }
    wait(entry, waiter);
  }

  /**
   * @brief `stream` is about to be destroyed: records its entry's event on it while it is
   * still valid, and forgets the handle (a new stream may get the same one). Its blocks stay,
   * ordered by that event. Does nothing when the stream has no entry.
   */
  void retire(cudaStream_t stream) noexcept {
    for (const auto& entry : entries_) {
      if (entry->retired || entry->per_thread || entry->stream != stream) continue;
      // Retired whatever happens next: the handle may name a new stream soon.
      entry->retired = true;
      if (last_ == entry.get()) last_ = nullptr;
      if (entry->event == nullptr &&
          gpumem::detail::cuda_calls::event_create(&entry->event) != cudaSuccess) {
        entry->event = nullptr;
      }
      if (entry->event == nullptr ||
          gpumem::detail::cuda_calls::event_record(entry->event, stream) != cudaSuccess) {
        gpumem::detail::cuda_calls::clear_last_error();
        entry->needs_barrier = true;
      }
    }
  }

  /// Every entry.
  [[nodiscard]] const std::vector<std::unique_ptr<stream_entry>>& entries() const noexcept {
    return entries_;
  }

 private:
  /// Makes `waiter` wait for `entry`'s recorded event.
  static void wait(stream_entry& entry, cuda_stream_view waiter) {
#ifdef GPUMEM_PRELOAD_BUILD
    // In the shim, cudaMalloc and cudaFree (no stream) use the cudaStreamLegacy handle: their
    // memory must be idle for every stream once the call returns, so the host waits.
    if (waiter.value() == cudaStreamLegacy) {
      GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::event_synchronize(entry.event));
      return;
    }
#endif
    GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::stream_wait_event(waiter.value(), entry.event));
  }

  static cudaEvent_t make_event() {
    cudaEvent_t event = nullptr;
    GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::event_create(&event));
    return event;
  }

  std::vector<std::unique_ptr<stream_entry>> entries_;
  stream_entry* last_ = nullptr;  ///< the entry used last: most programs use one stream
};

}  // namespace gpumem::mr::detail
