#include "gpumem/mr/pool_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <span>
#include <sstream>
#include <utility>

#include "core/byte_size.hpp"
#include "core/coalescing_heap.hpp"
#include "core/recent_free_cache.hpp"
#include "core/segregated_free_index.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "gpumem/detail/spin_lock.hpp"
#include "mr/lent_block_table.hpp"
#include "mr/sanitizer_annotations.hpp"
#include "mr/stream_ordered_free_lists.hpp"
#include "mr/stream_retirement.hpp"
#include "mr/thread_block_cache.hpp"
#include "mr/thread_block_caches.hpp"

namespace gpumem::mr::detail {
namespace {

/// CUDA maps device memory in 2 MiB pages: growing by whole pages wastes nothing.
constexpr std::size_t kSlabGranularity = std::size_t{2} << 20;
/// An expandable slab grows by at least this fraction of its size (1/16).
constexpr std::size_t kGrowthAheadDivisor = 16;
/// Frees of unknown pointers reported on stderr before the pool stops saying so.
constexpr int kMaxUnknownFreeReports = 8;
/// Entries of the table of blocks handed out: 2^18.
constexpr unsigned kLentTableBits = 18;

/// `from - taken`, or 0 below it: the threads' caches are counted one after another without
/// stopping their owners, so a block a thread takes and another frees meanwhile may be counted
/// in both (a moment's figure, never below zero).
constexpr std::size_t less_or_zero(std::size_t from, std::size_t taken) noexcept {
  return from > taken ? from - taken : 0;
}

/// One stream's free blocks: merged ones by size, and recently freed ones kept whole.
struct stream_free_blocks {
  core::segregated_free_index index;
  core::recent_free_cache recent{
      core::recent_free_cache::kMaxDepth};  // bursts of frees come back whole

  [[nodiscard]] bool empty() const noexcept { return index.empty() && recent.blocks() == 0; }
};

}  // namespace

struct pool_resource_core::state_type {
  using stream_entry = stream_ordered_free_lists<stream_free_blocks>::stream_entry;
  /// One thread's cache of freed blocks.
  using block_cache = thread_block_cache<core::recent_free_cache>;

  state_type() : heap{CUDA_ALLOCATION_ALIGNMENT, &unowned} {}

  mutable gpumem::detail::spin_lock mutex;
  /// Blocks free for every stream without a wait: the initial slab, and all free blocks after
  /// release() synchronized the device.
  core::segregated_free_index unowned;
  /// Blocks release() took, waiting (outside the lock) for its device barrier.
  core::segregated_free_index releasing;
  /// Bytes being taken from upstream outside the lock (counted against the maximum).
  std::size_t growing = 0;
  /// With an expandable upstream: the slab that grows in place (0: none yet), and the lock
  /// that lets one thread at a time grow it (held without the spin lock).
  std::uintptr_t expandable_slab = 0;
  std::mutex growth_mutex;
  /// Free bytes above which a free calls release(); SIZE_MAX: never.
  std::atomic<std::size_t> release_threshold{SIZE_MAX};
  /// Whether a free is releasing now (others do not start another release meanwhile).
  std::atomic<bool> releasing_now{false};
  core::coalescing_heap heap;
  /// The slabs and served blocks, for compute-sanitizer.
  sanitizer_annotations annotations;
  stream_ordered_free_lists<stream_free_blocks> streams;
  /// Each thread's blocks freed lately, in front of the lock (allocated for the heap, free for
  /// users), and the sizes of the blocks handed out, which let a free reach its thread's cache
  /// without the heap's records.
  thread_block_caches<core::recent_free_cache> caches;
  /// 2^18 entries (2 MiB): the shim's default stack stands on this pool, and with 16 threads
  /// each holding a thousand blocks in quarantine (16 Ki lent at once) a 2^14 table misses a
  /// third or more of them, whose frees then take the pool's lock.
  lent_block_table lent{kLentTableBits};
  std::atomic<int> unknown_free_reports{0};
  /// Unsubscribed before the lists it reaches are destroyed (members go in reverse order).
  stream_retirement_subscription retirement{[this](const retirement_notice& ended) {
    std::lock_guard lock(mutex);
    const auto move_all = [this](stream_free_blocks& from, stream_free_blocks& to) {
      drain_recent(from);
      heap.transfer(from.index, to.index);
    };
    // The ending stream's blocks in threads' caches join its list first, so they are retired
    // with it: ordered by the event recorded now, and never reused under the handle's next
    // stream.
    if (ended.thread != 0) {
      caches.retire_thread(ended.thread,
                           [this](block_cache& cache) { drain_cache(cache, every_stream); });
      caches.for_each([&](block_cache& cache) {
        drain_cache(cache, [&](const stream_key& key) { return key.thread == ended.thread; });
      });
      streams.retire_thread(ended.thread, move_all);
    } else {
      caches.for_each([&](block_cache& cache) {
        drain_cache(cache, [&](const stream_key& key) {
          return !key.per_thread() && key.stream == ended.stream;
        });
      });
      streams.retire(ended.stream, move_all);
    }
  }};

  static bool every_stream(const stream_key&) noexcept { return true; }

  /// Frees the recently freed blocks of a stream the normal way (merged into its index).
  void drain_recent(stream_free_blocks& blocks) noexcept {
    blocks.recent.drain(
        [&](std::uintptr_t address, std::size_t) { heap.free(address, blocks.index); });
  }

  /**
   * @brief Moves the blocks of `cache` whose stream `which` selects to the lists of their
   * streams, where the pool's stream ordering applies to them. Under the lock.
   * @return whether any block moved
   */
  template <typename Which>
  bool drain_cache(block_cache& cache, Which&& which) noexcept {
    return cache.drain(which, [this](const stream_key& key, core::recent_free_cache& blocks) {
      stream_free_blocks* to = nullptr;
      try {
        to = &streams.entry_for(key.stream, key.thread).free_blocks;
      } catch (...) {
        // No host memory for the stream's entry: the blocks stay allocated for the heap (lost
        // until the pool is destroyed) rather than be reused out of stream order.
        std::fprintf(stderr,
                     "gpumem: pool_memory_resource: out of host memory; %zu cached blocks are "
                     "not reused\n",
                     blocks.blocks());
      }
      blocks.drain([&](std::uintptr_t address, std::size_t size) {
        if (to != nullptr && !to->recent.put(address, size)) heap.free(address, to->index);
      });
    });
  }

  /// Moves every block of every thread's cache to the lists of its stream. Under the lock.
  bool drain_caches() {
    bool any = false;
    caches.for_each([&](block_cache& cache) { any = drain_cache(cache, every_stream) || any; });
    return any;
  }

  /// What the threads' caches hold. Under the lock.
  [[nodiscard]] thread_block_cache_limits::totals cached() {
    thread_block_cache_limits::totals all;
    caches.for_each([&](const block_cache& cache) {
      const thread_block_cache_limits::totals one = cache.count();
      all.blocks += one.blocks;
      all.bytes += one.bytes;
      all.largest_block = std::max(all.largest_block, one.largest_block);
    });
    return all;
  }

  /**
   * @brief A free block of `size` bytes for `stream` (whose entry is `own`) from the pool's
   * lists, without growing: `stream`'s own blocks, unowned ones, then another stream's once
   * `stream` waits for that stream's work; 0 when none fits. Under the lock.
   */
  std::uintptr_t find_free(stream_entry& own, std::size_t size, cuda_stream_view stream) {
    if (const std::uintptr_t address = own.free_blocks.recent.take(size); address != 0)
      return address;
    if (const std::uintptr_t address = heap.allocate(own.free_blocks.index, size); address != 0)
      return address;
    if (const std::uintptr_t address = heap.allocate(unowned, size); address != 0) return address;
    // This stream's recently freed blocks, merged, may hold the request.
    if (own.free_blocks.recent.blocks() != 0) {
      drain_recent(own.free_blocks);
      if (const std::uintptr_t address = heap.allocate(own.free_blocks.index, size); address != 0)
        return address;
    }
    // Another stream's free blocks, once this stream waits for that stream's work. Every block
    // that stream freed so far moves here, merged.
    for (const auto& other : streams.entries()) {
      if (other.get() == &own || (other->free_blocks.index.find(size) == nullptr &&
                                  other->free_blocks.recent.largest_block() < size)) {
        continue;
      }
      take_from(*other, own, stream);
      if (const std::uintptr_t address = heap.allocate(own.free_blocks.index, size); address != 0) {
        streams.erase_drained();
        return address;
      }
    }
    streams.erase_drained();
    return 0;
  }

  /// Moves every free block of `other` to `own` (of `stream`), after `stream` waits for
  /// `other`'s work.
  void take_from(stream_entry& other, stream_entry& own, cuda_stream_view stream) {
    streams.order_after(other, stream);
    drain_recent(other.free_blocks);
    heap.transfer(other.free_blocks.index, own.free_blocks.index);
  }

  /// Bytes of blocks kept whole in recent-free caches (allocated for the heap, free for users).
  [[nodiscard]] std::size_t recent_bytes() const noexcept {
    std::size_t bytes = 0;
    for (const auto& entry : streams.entries())
      bytes += entry->free_blocks.recent.bytes();
    return bytes;
  }
  /// Blocks kept whole in recent-free caches.
  [[nodiscard]] std::size_t recent_blocks() const noexcept {
    std::size_t blocks = 0;
    for (const auto& entry : streams.entries())
      blocks += entry->free_blocks.recent.blocks();
    return blocks;
  }
};

pool_resource_core::pool_resource_core(device_async_resource_ref upstream,
                                       std::size_t initial_pool_size,
                                       std::optional<std::size_t> maximum_pool_size,
                                       expandable_upstream* expandable)
    : upstream_{upstream},
      expandable_{expandable != nullptr && expandable->growth_unit() != 0 ? expandable : nullptr},
      maximum_{maximum_pool_size},
      state_{std::make_unique<state_type>()} {
  GPUMEM_EXPECTS(is_aligned(initial_pool_size, CUDA_ALLOCATION_ALIGNMENT),
                 "pool_memory_resource: the initial pool size (" +
                     std::to_string(initial_pool_size) + " bytes) must be a multiple of 256 bytes");
  GPUMEM_EXPECTS(!maximum_ || is_aligned(*maximum_, CUDA_ALLOCATION_ALIGNMENT),
                 "pool_memory_resource: the maximum pool size (" +
                     std::to_string(maximum_.value_or(0)) +
                     " bytes) must be a multiple of 256 bytes");
  GPUMEM_EXPECTS(!maximum_ || initial_pool_size <= *maximum_,
                 "pool_memory_resource: the initial pool size (" +
                     core::format_bytes(initial_pool_size) + ") exceeds the maximum pool size (" +
                     core::format_bytes(maximum_.value_or(0)) + ")");
  if (initial_pool_size > 0) {
    void* slab =
        upstream_.allocate_async(initial_pool_size, CUDA_ALLOCATION_ALIGNMENT, cuda_stream_view{});
    // Once the default stream has made the slab (a stream-ordered upstream allocates on it),
    // every stream may use it without waiting.
    cuda_stream_view{}.synchronize();
    state_->heap.add_slab(
        reinterpret_cast<std::uintptr_t>(slab), initial_pool_size, state_->unowned);
    if (expandable_ != nullptr && is_aligned(initial_pool_size, expandable_->growth_unit()))
      state_->expandable_slab = reinterpret_cast<std::uintptr_t>(slab);
    // compute-sanitizer refuses heaps in virtual-memory mappings: only cudaMalloc slabs (an
    // upstream that cannot grow in place) are heaps.
    if (expandable_ == nullptr)
      state_->annotations.heap_added(reinterpret_cast<std::uintptr_t>(slab), initial_pool_size);
  }
}

pool_resource_core::~pool_resource_core() {
  // Blocks may still be in use by work on their streams: wait before giving memory back.
  GPUMEM_ASSERT_CUDA_SUCCESS(gpumem::detail::cuda_calls::device_synchronize());
  for (const core::address_range& slab : state_->heap.slabs()) {
    state_->annotations.heap_removed(slab.address);
    upstream_.deallocate_async(reinterpret_cast<void*>(slab.address),
                               slab.size,
                               CUDA_ALLOCATION_ALIGNMENT,
                               cuda_stream_view{});
  }
}

std::size_t pool_resource_core::pool_size() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->heap.slab_bytes();
}

pool_state pool_resource_core::state() const {
  std::lock_guard lock(state_->mutex);
  // Blocks in threads' caches are free for users, allocated for the heap.
  const thread_block_cache_limits::totals cached = state_->cached();
  pool_state snapshot{
      state_->heap.slab_bytes(),
      less_or_zero(state_->heap.allocated_bytes(), state_->recent_bytes() + cached.bytes),
      less_or_zero(state_->heap.allocated_blocks(), state_->recent_blocks() + cached.blocks),
      state_->unowned.block_count() + cached.blocks,
      std::max(state_->unowned.largest_block(), cached.largest_block),
      state_->streams.entries().size()};
  for (const auto& entry : state_->streams.entries()) {
    snapshot.free_blocks +=
        entry->free_blocks.index.block_count() + entry->free_blocks.recent.blocks();
    snapshot.largest_free_block = std::max({snapshot.largest_free_block,
                                            entry->free_blocks.index.largest_block(),
                                            entry->free_blocks.recent.largest_block()});
  }
  return snapshot;
}

std::size_t pool_resource_core::release() {
  // No growth of the expandable slab while its end may be cut.
  std::lock_guard growth(state_->growth_mutex);
  std::unique_lock lock(state_->mutex);
  // Every block free now, on any stream and in any thread's cache, waits in `releasing` for one
  // device barrier, taken without the lock (it can last long; allocations and frees go on
  // meanwhile). Blocks freed after this point stay on their streams.
  state_->drain_caches();
  for (const auto& entry : state_->streams.entries()) {
    state_->drain_recent(entry->free_blocks);
    state_->heap.transfer(entry->free_blocks.index, state_->releasing);
  }
  state_->streams.erase_drained();
  lock.unlock();
  const cudaError_t barrier = gpumem::detail::cuda_calls::device_synchronize();
  lock.lock();
  if (barrier != cudaSuccess) {
    // Their streams are unknown now: they wait for a later barrier before any reuse.
    state_->streams.adopt_unordered(
        state_->releasing, [this](core::segregated_free_index& from, stream_free_blocks& to) {
          state_->heap.transfer(from, to.index);
        });
    lock.unlock();
    GPUMEM_CUDA_TRY(barrier);
  }
  // Idle now: free for every stream, merged with their neighbours; whole slabs go upstream.
  state_->heap.transfer(state_->releasing, state_->unowned);
  const std::vector<core::address_range> slabs = state_->heap.take_free_slabs(&state_->unowned);
  for (const core::address_range& slab : slabs) {
    if (slab.address == state_->expandable_slab) state_->expandable_slab = 0;
  }
  // The expandable slab's free end goes back too (the device is idle, its blocks unowned).
  std::size_t trimmed = 0;
  std::size_t trimmed_from = 0;
  if (state_->expandable_slab != 0) {
    trimmed_from = state_->heap.slab_size(state_->expandable_slab);
    trimmed = state_->heap.trim_slab_end(
        state_->expandable_slab, expandable_->growth_unit(), state_->unowned);
  }
  const std::uintptr_t trimmed_slab = state_->expandable_slab;
  lock.unlock();
  std::size_t released = 0;
  if (trimmed != 0) {
    expandable_->shrink_in_place(reinterpret_cast<void*>(trimmed_slab), trimmed_from, trimmed);
    released += trimmed;
  }
  for (const core::address_range& slab : slabs) {
    state_->annotations.heap_removed(slab.address);
    upstream_.deallocate_async(reinterpret_cast<void*>(slab.address),
                               slab.size,
                               CUDA_ALLOCATION_ALIGNMENT,
                               cuda_stream_view{});
    released += slab.size;
  }
  return released;
}

void* pool_resource_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  if (bytes == 0) return nullptr;
  const std::size_t size = align_up(bytes, CUDA_ALLOCATION_ALIGNMENT);
  std::uintptr_t address = 0;
  // The fast path: a block this thread freed on this stream, without the pool's lock.
  if (size <= thread_block_cache_limits::kLargestBlock) {
    if (const auto mine = state_->caches.mine(stream); mine.cache != nullptr)
      address = mine.cache->take(mine.key, size);
  }
  if (address == 0) address = take_block(bytes, stream);
  if (size <= thread_block_cache_limits::kLargestBlock) state_->lent.record(address, size);
  state_->annotations.block_served(address, bytes);
  return reinterpret_cast<void*>(address);
}

std::uintptr_t pool_resource_core::take_block(std::size_t bytes, cuda_stream_view stream) {
  const std::size_t size = align_up(bytes, CUDA_ALLOCATION_ALIGNMENT);
  std::unique_lock lock(state_->mutex);
  core::coalescing_heap& heap = state_->heap;
  auto& own = state_->streams.entry_for(stream);
  if (const std::uintptr_t address = state_->find_free(own, size, stream); address != 0)
    return address;
  // Blocks idle in threads' caches (this thread's of other streams, other threads') are used
  // before the pool grows: they join their streams' lists, and the search runs again.
  if (state_->drain_caches()) {
    if (const std::uintptr_t address = state_->find_free(own, size, stream); address != 0)
      return address;
  }

  // With an expandable upstream, the one slab grows in place by what the request needs.
  if (expandable_ != nullptr) {
    lock.unlock();
    if (const std::uintptr_t address = grow_expandable_slab(size, stream); address != 0)
      return address;
    lock.lock();
  }

  // A new slab, RMM's size: with a maximum, all the room left under it; without, the pool's
  // current size (the pool doubles). When that does not fit upstream, half as much, and so on
  // down to the request alone. Without a maximum, whole 2 MiB pages (CUDA's granularity) are
  // asked for first. Taken from upstream without the lock (it can last milliseconds), its size
  // counted against the maximum meanwhile.
  const std::size_t current = heap.slab_bytes() + state_->growing;
  const std::size_t headroom = maximum_ ? *maximum_ - std::min(*maximum_, current) : SIZE_MAX;
  std::string upstream_failure;
  if (size <= headroom) {
    const std::size_t preferred = maximum_ ? headroom : std::max(size, current);
    const std::size_t in_pages = maximum_ ? preferred : align_up(preferred, kSlabGranularity);
    state_->growing += in_pages;
    lock.unlock();
    void* slab = nullptr;
    std::size_t slab_size = in_pages;
    const auto take = [&](std::size_t attempt) {
      try {
        slab = upstream_.allocate_async(attempt, CUDA_ALLOCATION_ALIGNMENT, stream);
        slab_size = attempt;
      } catch (const gpumem::out_of_memory& error) {
        upstream_failure = error.what();
      }
      return slab != nullptr;
    };
    if (in_pages == preferred || !take(in_pages)) {
      for (std::size_t attempt = preferred; !take(attempt) && attempt != size;) {
        const std::size_t half = align_up(attempt / 2, CUDA_ALLOCATION_ALIGNMENT);
        attempt = half < attempt && half > size ? half : size;
      }
    }
    lock.lock();
    state_->growing -= in_pages;
    if (slab != nullptr) {
      try {
        heap.add_slab(reinterpret_cast<std::uintptr_t>(slab), slab_size, own.free_blocks.index);
      } catch (...) {
        lock.unlock();
        upstream_.deallocate_async(slab, slab_size, CUDA_ALLOCATION_ALIGNMENT, stream);
        throw;
      }
      if (expandable_ == nullptr)
        state_->annotations.heap_added(reinterpret_cast<std::uintptr_t>(slab), slab_size);
      return heap.allocate(own.free_blocks.index, size);
    }
  } else {
    upstream_failure = "the maximum pool size is reached";
  }

  // Fragments on several streams, and blocks threads cached meanwhile, may together form a
  // large enough block: gather them all (with event waits) and try once more before failing.
  state_->drain_caches();
  for (const auto& other : state_->streams.entries()) {
    if (other.get() != &own &&
        (!other->free_blocks.index.empty() || other->free_blocks.recent.bytes() != 0)) {
      state_->take_from(*other, own, stream);
    }
  }
  state_->streams.erase_drained();
  state_->drain_recent(own.free_blocks);
  if (const std::uintptr_t address = heap.allocate(own.free_blocks.index, size); address != 0) {
    return address;
  }

  std::size_t largest_free = state_->unowned.largest_block();
  for (const auto& entry : state_->streams.entries()) {
    largest_free = std::max(largest_free, entry->free_blocks.index.largest_block());
  }
  std::ostringstream message;
  message << "pool_memory_resource: cannot allocate " << core::format_bytes(bytes) << " (" << bytes
          << " bytes) on stream " << stream << ": pool size " << core::format_bytes(current)
          << ", maximum " << (maximum_ ? core::format_bytes(*maximum_) : std::string{"none"})
          << ", in use "
          << core::format_bytes(less_or_zero(heap.allocated_bytes(),
                                             state_->recent_bytes() + state_->cached().bytes))
          << ", largest free block " << core::format_bytes(largest_free)
          << "; upstream: " << upstream_failure;
  throw gpumem::out_of_memory{message.str()};
}

std::uintptr_t pool_resource_core::grow_expandable_slab(std::size_t size, cuda_stream_view stream) {
  std::lock_guard growth(state_->growth_mutex);
  std::unique_lock lock(state_->mutex);
  core::coalescing_heap& heap = state_->heap;
  auto& own = state_->streams.entry_for(stream);
  // Another thread may have grown the slab while this one waited.
  if (const std::uintptr_t address = heap.allocate(own.free_blocks.index, size); address != 0)
    return address;
  if (const std::uintptr_t address = heap.allocate(state_->unowned, size); address != 0)
    return address;
  // What the request needs beyond the slab's free end (which the new memory joins), or, when
  // more, a sixteenth of the slab: a pool that keeps growing maps chunks a few dozen times,
  // not once per request, and holds at most about 6 % more than it needed.
  const std::size_t unit = expandable_->growth_unit();
  const std::uintptr_t slab = state_->expandable_slab;
  const std::size_t slab_size = slab != 0 ? heap.slab_size(slab) : 0;
  const std::size_t free_end = slab != 0 ? heap.free_end(slab, own.free_blocks.index) : 0;
  const std::size_t needed = align_up(size - std::min(size, free_end), unit);
  const std::size_t current = heap.slab_bytes() + state_->growing;
  const std::size_t room = maximum_ ? *maximum_ - std::min(*maximum_, current) : SIZE_MAX;
  if (needed == 0 || needed > room) return 0;
  std::size_t step = std::max(needed, align_up(slab_size / kGrowthAheadDivisor, unit));
  if (step > room) step = needed;
  // Counted against the maximum while the lock is not held (the larger step, until the end).
  const std::size_t counted = step;
  state_->growing += counted;
  lock.unlock();
  bool grown = false;
  void* fresh = nullptr;
  try {
    if (slab != 0) {
      grown = expandable_->grow_in_place(reinterpret_cast<void*>(slab), slab_size, step);
      if (!grown && step != needed) {
        // The device may have room for what is needed without the step ahead.
        grown = expandable_->grow_in_place(reinterpret_cast<void*>(slab), slab_size, needed);
        if (grown) step = needed;
      }
    } else {
      fresh = upstream_.allocate_async(step, CUDA_ALLOCATION_ALIGNMENT, stream);
    }
  } catch (const gpumem::out_of_memory&) {
    // The caller's slab path tries smaller sizes and says why it failed.
  } catch (...) {
    lock.lock();
    state_->growing -= counted;
    throw;
  }
  lock.lock();
  state_->growing -= counted;
  if (grown) {
    heap.extend_slab(slab, step, own.free_blocks.index);
    return heap.allocate(own.free_blocks.index, size);
  }
  if (fresh == nullptr) return 0;
  try {
    heap.add_slab(reinterpret_cast<std::uintptr_t>(fresh), step, own.free_blocks.index);
  } catch (...) {
    lock.unlock();
    upstream_.deallocate_async(fresh, step, CUDA_ALLOCATION_ALIGNMENT, stream);
    throw;
  }
  state_->expandable_slab = reinterpret_cast<std::uintptr_t>(fresh);
  return heap.allocate(own.free_blocks.index, size);
}

void pool_resource_core::set_release_threshold(std::size_t free_bytes) noexcept {
  state_->release_threshold.store(free_bytes, std::memory_order_relaxed);
}

void pool_resource_core::do_deallocate(void* ptr,
                                       std::size_t /*bytes*/,
                                       cuda_stream_view stream) noexcept {
  if (ptr == nullptr) return;
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  // The fast path: the table of blocks handed out says the block is ours and its size (not the
  // caller's), and the block goes to this thread's cache without the pool's lock. With a
  // release threshold every free goes the normal way, which checks the threshold.
  bool returned = false;
  if (const std::size_t size = state_->lent.claim(address);
      size != 0 && state_->release_threshold.load(std::memory_order_relaxed) == SIZE_MAX) {
    if (const auto mine = state_->caches.mine(stream); mine.cache != nullptr) {
      // Unregistered before it is cached: the pool may hand it to another thread from there.
      state_->annotations.block_returned(address);
      returned = true;
      if (mine.cache->put(mine.key, address, size)) return;
    }
  }
  free_block(address, stream, returned);
}

void pool_resource_core::deallocate_many(std::span<void* const> blocks,
                                         cuda_stream_view stream) noexcept {
  const bool cacheable = state_->release_threshold.load(std::memory_order_relaxed) == SIZE_MAX;
  const auto mine = cacheable ? state_->caches.mine(stream)
                              : thread_block_caches<core::recent_free_cache>::local{};
  // In chunks on the stack: no host memory is needed to free.
  constexpr std::size_t kChunk = 256;
  std::array<std::pair<std::uintptr_t, std::size_t>, kChunk> claimed;
  for (std::size_t start = 0; start < blocks.size(); start += kChunk) {
    const std::size_t end = std::min(blocks.size(), start + kChunk);
    std::size_t count = 0;
    for (std::size_t i = start; i < end; ++i) {
      const auto address = reinterpret_cast<std::uintptr_t>(blocks[i]);
      if (address == 0) continue;
      // As do_deallocate: the block's entry in the table of blocks handed out goes in any case
      // (left behind, it would give a later block at this address this one's size), and gives
      // the size for the cache; else the normal way.
      const std::size_t size = state_->lent.claim(address);
      if (size == 0 || mine.cache == nullptr) {
        free_block(address, stream, false);
        continue;
      }
      state_->annotations.block_returned(address);
      claimed[count++] = {address, size};
    }
    const std::size_t rejected =
        count == 0 ? 0 : mine.cache->put_many(mine.key, std::span{claimed.data(), count});
    for (std::size_t i = 0; i < rejected; ++i)
      free_block(claimed[i].first, stream, true);
  }
}

void pool_resource_core::free_block(std::uintptr_t address,
                                    cuda_stream_view stream,
                                    bool returned) noexcept {
  std::unique_lock lock(state_->mutex);
  auto& entry = state_->streams.entry_for(stream);
  // The heap's own record of the block, not the caller's size: a foreign pointer is caught here.
  const std::size_t size = state_->heap.allocated_size(address);
  if (size == 0) {
    if (state_->unknown_free_reports.fetch_add(1) < kMaxUnknownFreeReports) {
      std::fprintf(
          stderr,
          "gpumem: pool_memory_resource: deallocate of %p, which this pool did not allocate; "
          "ignored\n",
          reinterpret_cast<void*>(address));
    }
    return;
  }
  if (!returned) state_->annotations.block_returned(address);
  if (!entry.free_blocks.recent.put(address, size))
    state_->heap.free(address, entry.free_blocks.index);
  // Checked only with a threshold set: counting the recently freed blocks walks the streams
  // and the threads' caches.
  const std::size_t threshold = state_->release_threshold.load(std::memory_order_relaxed);
  const bool over_threshold =
      threshold != SIZE_MAX &&
      less_or_zero(state_->heap.slab_bytes(),
                   less_or_zero(state_->heap.allocated_bytes(),
                                state_->recent_bytes() + state_->cached().bytes)) > threshold;
  lock.unlock();
  if (over_threshold && !state_->releasing_now.exchange(true)) {
    try {
      (void)release();
    } catch (...) {
      // A failed barrier leaves the blocks on their streams (see release()); nothing is lost.
    }
    state_->releasing_now.store(false);
  }
}

}  // namespace gpumem::mr::detail
