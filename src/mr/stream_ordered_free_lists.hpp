#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "mr/stream_retirement.hpp"
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
 * thread can record on it: its entry is keyed by a token of the thread (never reused, unlike
 * a thread id), and another stream orders after it through the legacy default stream instead.
 * An event recorded on the legacy stream waits for the work of every blocking stream,
 * per-thread default streams included, so it covers every free made on that thread's stream so
 * far, without an event per free and without blocking the host.
 *
 * Recording late needs the freeing stream alive, so a stream is retired before it is
 * destroyed (retire(); the shim hooks stream destruction, the library's cuda_stream and
 * notify_stream_destroyed() announce it), and a thread's per-thread stream when the thread
 * ends (retire_thread()). A retired stream's event is recorded then, its blocks move to one
 * entry of retired blocks that waits for every such event, and its own entry goes: a program
 * that makes a stream (or a thread) per task keeps a short list.
 *
 * Not thread safe: the owning resource serializes access. Events are created lazily and
 * destroyed with their entry.
 *
 * @tparam FreeList what holds one stream's free blocks (a segregated_free_index for the pool,
 *         a stack of blocks for the fixed-size resource); default constructible, with empty()
 */
template <typename FreeList>
class stream_ordered_free_lists {
 public:
  /// One stream's free blocks (or, `retired`, the blocks of streams that are gone).
  struct stream_entry {
    cudaStream_t stream = nullptr;
    std::uint64_t thread = 0;  ///< the owning thread's token, for the per-thread default stream
    bool per_thread = false;
    FreeList free_blocks;
    cudaEvent_t event = nullptr;
    /// The entry of retired streams' blocks: ordered by `retired_events` (or by a device
    /// barrier, `needs_barrier`, where an event could not be recorded); never a stream's own.
    bool retired = false;
    bool needs_barrier = false;
    std::vector<cudaEvent_t> retired_events;
  };

  stream_ordered_free_lists() = default;
  stream_ordered_free_lists(const stream_ordered_free_lists&) = delete;
  stream_ordered_free_lists& operator=(const stream_ordered_free_lists&) = delete;
  stream_ordered_free_lists(stream_ordered_free_lists&&) = delete;
  stream_ordered_free_lists& operator=(stream_ordered_free_lists&&) = delete;
  /// Destroys the events (the owner makes sure no work depends on them any more).
  ~stream_ordered_free_lists() {
    for (const auto& entry : entries_)
      destroy_events(*entry);
  }

  /// The entry of `stream`, created on first use.
  stream_entry& entry_for(cuda_stream_view stream) {
    if (last_ != nullptr && !last_->retired && last_->stream == stream.value() &&
        (!last_->per_thread || last_->thread == this_thread_token())) {
      return *last_;
    }
    const bool per_thread = stream.value() == cudaStreamPerThread;
    const std::uint64_t thread = per_thread ? this_thread_token() : 0;
    if (stream_entry* found = find(stream.value(), thread); found != nullptr) {
      last_ = found;
      return *last_;
    }
    // The thread's per-thread stream is retired when the thread ends.
    if (per_thread) stream_retirement::watch_this_thread();
    last_ = &make(stream.value(), thread);
    return *last_;
  }

  /**
   * @brief The entry of `stream` as the thread with token `thread` uses it (for
   * cudaStreamPerThread, that thread's per-thread default stream; `thread` is ignored for other
   * streams), created on first use: where another thread puts blocks that thread freed (a
   * thread's block cache drained by the allocator). Unlike entry_for(stream), watches no
   * thread: the owner of a per-thread stream is watched already, by its block cache.
   */
  stream_entry& entry_for(cudaStream_t stream, std::uint64_t thread) {
    if (stream != cudaStreamPerThread) thread = 0;
    if (stream_entry* found = find(stream, thread); found != nullptr) return *found;
    return make(stream, thread);
  }

  /**
   * @brief Makes `waiter` wait (on the device, not the host) for the work that `entry`'s
   * stream had before its blocks were freed. The caller then takes every block of `entry`.
   * @throws gpumem::cuda_error on a CUDA failure
   */
  void order_after(stream_entry& entry, cuda_stream_view waiter) {
    if (entry.retired) {
      if (entry.needs_barrier) {
        GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::device_synchronize());
      } else {
        for (cudaEvent_t event : entry.retired_events)
          wait(event, waiter);
      }
      // Every block moves to the waiter now, ordered: the events have done their work.
      destroy_events(entry);
      entry.needs_barrier = false;
      return;
    }
    if (entry.event == nullptr) entry.event = make_event();
    // Recording now covers every free made on the stream so far (see the class comment for
    // the per-thread default stream).
    if (gpumem::detail::cuda_calls::event_record(
            entry.event, entry.per_thread ? cudaStreamLegacy : entry.stream) != cudaSuccess) {
      // The stream is gone (destroyed without being retired): wait for the whole device
      // instead, after which its blocks are idle.
      gpumem::detail::cuda_calls::clear_last_error();
      GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::device_synchronize());
      return;
    }
    wait(entry.event, waiter);
  }

  /**
   * @brief `stream` is about to be destroyed: records its entry's event on it while it is
   * still valid, moves its blocks (`move_all(from, to)` moves every block of one FreeList into
   * another) to the retired blocks, and forgets the entry (a new stream may get the handle).
   * Does nothing when the stream has no entry. Never throws: where something fails, the
   * retired blocks wait for a device barrier instead.
   */
  template <typename MoveAll>
  void retire(cudaStream_t stream, MoveAll&& move_all) noexcept {
    retire_where(
        [stream](const stream_entry& entry) {
          return !entry.retired && !entry.per_thread && entry.stream == stream;
        },
        stream,
        move_all);
  }

  /// Like retire(), for the per-thread default stream of the thread with `token`, which ends:
  /// its event is recorded on the legacy stream, which waits for that stream's work.
  template <typename MoveAll>
  void retire_thread(std::uint64_t token, MoveAll&& move_all) noexcept {
    retire_where(
        [token](const stream_entry& entry) { return entry.per_thread && entry.thread == token; },
        cudaStreamLegacy,
        move_all);
  }

  /**
   * @brief Takes free blocks whose stream order is unknown (their owner could not wait for the
   * device): they join the retired blocks, which then wait for a device barrier before reuse.
   * @throws std::bad_alloc when the retired blocks' entry cannot be made
   */
  template <typename Blocks, typename MoveAll>
  void adopt_unordered(Blocks& blocks, MoveAll&& move_all) {
    stream_entry& retired = retired_entry();
    move_all(blocks, retired.free_blocks);
    retired.needs_barrier = true;
  }

  /// Forgets the retired blocks' entry once every block left it (it is made again when needed).
  void erase_drained() noexcept {
    std::erase_if(entries_, [this](const std::unique_ptr<stream_entry>& entry) {
      if (!entry->retired || !entry->free_blocks.empty()) return false;
      destroy_events(*entry);
      if (last_ == entry.get()) last_ = nullptr;
      return true;
    });
  }

  /// Every entry.
  [[nodiscard]] const std::vector<std::unique_ptr<stream_entry>>& entries() const noexcept {
    return entries_;
  }

 private:
  /// The live entry of `stream` for the thread `thread` (0 but for a per-thread stream), or null.
  stream_entry* find(cudaStream_t stream, std::uint64_t thread) const noexcept {
    for (const auto& entry : entries_) {
      if (!entry->retired && entry->stream == stream && entry->thread == thread) return entry.get();
    }
    return nullptr;
  }

  /// A new entry for `stream` and `thread`. @throws std::bad_alloc
  stream_entry& make(cudaStream_t stream, std::uint64_t thread) {
    auto created = std::make_unique<stream_entry>();
    created->stream = stream;
    created->thread = thread;
    created->per_thread = stream == cudaStreamPerThread;
    entries_.push_back(std::move(created));
    return *entries_.back();
  }

  template <typename Matches, typename MoveAll>
  void retire_where(Matches&& matches, cudaStream_t record_on, MoveAll& move_all) noexcept {
    // The retired blocks' entry first (making it may add to entries_), then one pass.
    stream_entry* retired = nullptr;
    const bool any_blocks = std::any_of(entries_.begin(), entries_.end(), [&](const auto& entry) {
      return matches(*entry) && !entry->free_blocks.empty();
    });
    if (any_blocks) {
      try {
        retired = &retired_entry();
      } catch (...) {
        retired = nullptr;  // no host memory: each entry keeps its blocks as retired blocks
      }
    }
    for (auto it = entries_.begin(); it != entries_.end();) {
      stream_entry& entry = **it;
      if (!matches(entry)) {
        ++it;
        continue;
      }
      if (!entry.free_blocks.empty()) {
        if (retired == nullptr || !reserve_event(*retired)) {
          entry.retired = true;
          entry.needs_barrier = true;
          if (last_ == &entry) last_ = nullptr;
          ++it;
          continue;
        }
        record_into(entry, *retired, record_on);
        move_all(entry.free_blocks, retired->free_blocks);
      }
      destroy_events(entry);
      if (last_ == &entry) last_ = nullptr;
      it = entries_.erase(it);
    }
  }

  /// Room for one more event in the retired blocks' entry (so recording cannot throw).
  static bool reserve_event(stream_entry& retired) noexcept {
    try {
      retired.retired_events.reserve(retired.retired_events.size() + 1);
      return true;
    } catch (...) {
      return false;
    }
  }

  /// Records `entry`'s event on `stream` and hands it to `retired` (or asks for a barrier).
  static void record_into(stream_entry& entry,
                          stream_entry& retired,
                          cudaStream_t stream) noexcept {
    if (entry.event == nullptr &&
        gpumem::detail::cuda_calls::event_create(&entry.event) != cudaSuccess) {
      entry.event = nullptr;
    }
    if (entry.event == nullptr ||
        gpumem::detail::cuda_calls::event_record(entry.event, stream) != cudaSuccess ||
        retired.retired_events.size() == retired.retired_events.capacity()) {
      gpumem::detail::cuda_calls::clear_last_error();
      retired.needs_barrier = true;
      return;
    }
    retired.retired_events.push_back(entry.event);
    entry.event = nullptr;  // retired's now
  }

  stream_entry& retired_entry() {
    for (const auto& entry : entries_) {
      if (entry->retired) return *entry;
    }
    auto created = std::make_unique<stream_entry>();
    created->retired = true;
    entries_.push_back(std::move(created));
    return *entries_.back();
  }

  static void destroy_events(stream_entry& entry) noexcept {
    if (entry.event != nullptr) (void)gpumem::detail::cuda_calls::event_destroy(entry.event);
    entry.event = nullptr;
    for (cudaEvent_t event : entry.retired_events)
      (void)gpumem::detail::cuda_calls::event_destroy(event);
    entry.retired_events.clear();
  }

  /// Makes `waiter` wait for `event`.
  static void wait(cudaEvent_t event, cuda_stream_view waiter) {
#ifdef GPUMEM_PRELOAD_BUILD
    // In the shim, cudaMalloc and cudaFree (no stream) use the cudaStreamLegacy handle: their
    // memory must be idle for every stream once the call returns, so the host waits.
    if (waiter.value() == cudaStreamLegacy) {
      GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::event_synchronize(event));
      return;
    }
#endif
    GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::stream_wait_event(waiter.value(), event));
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
