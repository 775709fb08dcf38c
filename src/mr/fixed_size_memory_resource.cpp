#include "gpumem/mr/fixed_size_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iterator>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "core/byte_size.hpp"
#include "core/same_size_blocks.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "gpumem/detail/spin_lock.hpp"
#include "mr/lent_block_table.hpp"
#include "mr/stream_ordered_free_lists.hpp"
#include "mr/stream_retirement.hpp"
#include "mr/thread_block_cache.hpp"
#include "mr/thread_block_caches.hpp"

namespace gpumem::mr::detail {
namespace {

/// Frees of pointers outside every chunk reported on stderr before the resource stops saying so.
constexpr int kMaxForeignFreeReports = 8;

/**
 * @brief The free blocks of one stream: a stack of block addresses (the last block freed is
 * the first reused, the one most likely still in cache on the device).
 */
class block_stack {
 public:
  [[nodiscard]] bool empty() const noexcept { return blocks_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return blocks_.size(); }

  /// Adds a free block. @throws std::bad_alloc when the stack cannot grow
  void push(std::uintptr_t block) { blocks_.push_back(block); }

  /// Removes and returns the block pushed last. @pre !empty()
  std::uintptr_t pop() noexcept {
    const std::uintptr_t block = blocks_.back();
    blocks_.pop_back();
    return block;
  }

  /// Moves every block of `from` onto this stack (cost: the smaller of the two).
  void take_all(block_stack& from) {
    if (blocks_.size() < from.blocks_.size()) blocks_.swap(from.blocks_);
    blocks_.insert(blocks_.end(), from.blocks_.begin(), from.blocks_.end());
    from.blocks_.clear();
  }

 private:
  std::vector<std::uintptr_t> blocks_;
};

}  // namespace

struct fixed_size_resource_core::state_type {
  using stream_entry = stream_ordered_free_lists<block_stack>::stream_entry;
  /// One thread's cache of freed blocks.
  using block_cache = thread_block_cache<core::same_size_blocks>;

  gpumem::detail::spin_lock mutex;
  /// Blocks free for every stream without a wait: those of the first chunk, which the
  /// constructor waited for.
  block_stack unowned;
  stream_ordered_free_lists<block_stack> streams;
  /// The chunks' addresses, ascending (to give them back, and to recognise our blocks).
  std::vector<std::uintptr_t> chunks;
  /// Each thread's blocks freed lately, in front of the lock, and the blocks handed out, which
  /// let a free reach its thread's cache without the chunks' list.
  thread_block_caches<core::same_size_blocks> caches;
  lent_block_table lent;
  std::atomic<int> foreign_free_reports{0};
  /// Last: unsubscribed before the lists it reaches are destroyed.
  stream_retirement_subscription retirement{[this](const retirement_notice& ended) {
    std::lock_guard lock(mutex);
    const auto move_all = [](block_stack& from, block_stack& to) { to.take_all(from); };
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

  /**
   * @brief Moves the blocks of `cache` whose stream `which` selects to the lists of their
   * streams, where the resource's stream ordering applies to them. Under the lock.
   * @return whether any block moved
   */
  template <typename Which>
  bool drain_cache(block_cache& cache, Which&& which) noexcept {
    return cache.drain(which, [this](const stream_key& key, core::same_size_blocks& blocks) {
      block_stack* to = nullptr;
      try {
        to = &streams.entry_for(key.stream, key.thread).free_blocks;
      } catch (...) {
        // No host memory: the blocks are lost until destruction rather than reused out of
        // stream order (below too).
      }
      std::size_t lost = 0;
      blocks.drain([&](std::uintptr_t address, std::size_t) {
        try {
          if (to != nullptr) {
            to->push(address);
            return;
          }
        } catch (...) {
        }
        ++lost;
      });
      if (lost != 0) {
        std::fprintf(stderr,
                     "gpumem: fixed_size_memory_resource: out of host memory; %zu cached blocks "
                     "are not reused\n",
                     lost);
      }
    });
  }

  /// Moves every block of every thread's cache to the list of its stream. Under the lock.
  bool drain_caches() {
    bool any = false;
    caches.for_each([&](block_cache& cache) { any = drain_cache(cache, every_stream) || any; });
    return any;
  }

  /**
   * @brief A free block for `stream` (whose entry is `own`), without growing: `stream`'s own,
   * an unowned one, else another stream's once `stream` waits for that stream's work (one event
   * covers all of them, so they all move here); 0 when none is free. Under the lock.
   */
  std::uintptr_t find_free(stream_entry& own, cuda_stream_view stream) {
    if (!own.free_blocks.empty()) return own.free_blocks.pop();
    if (!unowned.empty()) return unowned.pop();
    for (const auto& other : streams.entries()) {
      if (other.get() == &own || other->free_blocks.empty()) continue;
      streams.order_after(*other, stream);
      own.free_blocks.take_all(other->free_blocks);
      const std::uintptr_t block = own.free_blocks.pop();
      streams.erase_drained();
      return block;
    }
    return 0;
  }
};

namespace {

/// Refuses a request larger than a block (out of line: the allocation's fast path stays small).
[[noreturn, gnu::noinline, gnu::cold]] void throw_larger_than_a_block(std::size_t bytes,
                                                                      std::size_t block_size) {
  throw gpumem::out_of_memory{
      "fixed_size_memory_resource: cannot allocate " + core::format_bytes(bytes) + " (" +
      std::to_string(bytes) + " bytes): the maximum allocation size is the block size, " +
      core::format_bytes(block_size) + " (" + std::to_string(block_size) + " bytes)"};
}

/// Takes one chunk from `upstream` on `stream`. @throws gpumem::out_of_memory saying which chunk
/// failed
std::uintptr_t take_chunk(device_async_resource_ref upstream,
                          std::size_t block_size,
                          std::size_t blocks,
                          cuda_stream_view stream) {
  const std::size_t bytes = block_size * blocks;
  try {
    return reinterpret_cast<std::uintptr_t>(
        upstream.allocate_async(bytes, CUDA_ALLOCATION_ALIGNMENT, stream));
  } catch (const gpumem::out_of_memory& error) {
    std::ostringstream message;
    message << "fixed_size_memory_resource: cannot take a chunk of " << blocks << " blocks of "
            << core::format_bytes(block_size) << " (" << bytes
            << " bytes) from the upstream on stream " << stream << ": " << error.what();
    throw gpumem::out_of_memory{message.str()};
  }
}

}  // namespace

fixed_size_resource_core::fixed_size_resource_core(device_async_resource_ref upstream,
                                                   std::size_t block_size,
                                                   std::size_t blocks_to_preallocate)
    : upstream_{upstream},
      block_size_{align_up(block_size, CUDA_ALLOCATION_ALIGNMENT)},
      blocks_per_chunk_{blocks_to_preallocate},
      state_{std::make_unique<state_type>()} {
  // align_up wraps to 0 for sizes within 255 bytes of the largest size_t.
  GPUMEM_EXPECTS(block_size_ != 0,
                 "fixed_size_memory_resource: the block size (" + std::to_string(block_size) +
                     " bytes) must be positive and representable once rounded up to 256 bytes");
  GPUMEM_EXPECTS(blocks_per_chunk_ != 0,
                 "fixed_size_memory_resource: blocks_to_preallocate must be positive");
  GPUMEM_EXPECTS(blocks_per_chunk_ <= std::numeric_limits<std::size_t>::max() / block_size_,
                 "fixed_size_memory_resource: a chunk of " + std::to_string(blocks_per_chunk_) +
                     " blocks of " + std::to_string(block_size_) + " bytes overflows size_t");
  const std::uintptr_t chunk =
      take_chunk(upstream_, block_size_, blocks_per_chunk_, cuda_stream_view{});
  try {
    // Once the default stream has made the chunk (a stream-ordered upstream allocates on it),
    // every stream may use its blocks without waiting.
    cuda_stream_view{}.synchronize();
  } catch (...) {
    upstream_.deallocate_async(reinterpret_cast<void*>(chunk),
                               block_size_ * blocks_per_chunk_,
                               CUDA_ALLOCATION_ALIGNMENT,
                               cuda_stream_view{});
    throw;
  }
  state_->chunks.push_back(chunk);
  // Pushed from the top, so the lowest addresses are handed out first.
  for (std::size_t i = blocks_per_chunk_; i-- > 0;)
    state_->unowned.push(chunk + i * block_size_);
}

fixed_size_resource_core::~fixed_size_resource_core() {
  // Blocks may still be in use by work on their streams: wait before giving memory back.
  GPUMEM_ASSERT_CUDA_SUCCESS(gpumem::detail::cuda_calls::device_synchronize());
  for (const std::uintptr_t chunk : state_->chunks) {
    upstream_.deallocate_async(reinterpret_cast<void*>(chunk),
                               block_size_ * blocks_per_chunk_,
                               CUDA_ALLOCATION_ALIGNMENT,
                               cuda_stream_view{});
  }
}

std::size_t fixed_size_resource_core::reserved_bytes() const {
  std::lock_guard lock(state_->mutex);
  return state_->chunks.size() * block_size_ * blocks_per_chunk_;
}

void* fixed_size_resource_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  if (bytes == 0) return nullptr;
  // block_size_ is a multiple of 256, so this also holds for bytes rounded up to 256.
  if (bytes > block_size_) throw_larger_than_a_block(bytes, block_size_);
  // The fast path: a block this thread freed on this stream, without the resource's lock.
  const bool cacheable = block_size_ <= thread_block_cache_limits::kLargestBlock;
  if (cacheable) {
    if (const auto mine = state_->caches.mine(stream); mine.cache != nullptr) {
      if (const std::uintptr_t block = mine.cache->take(mine.key, block_size_); block != 0) {
        state_->lent.record(block, block_size_);
        return reinterpret_cast<void*>(block);
      }
    }
  }
  const std::uintptr_t block = take_block(stream);
  if (cacheable) state_->lent.record(block, block_size_);
  return reinterpret_cast<void*>(block);
}

std::uintptr_t fixed_size_resource_core::take_block(cuda_stream_view stream) {
  std::lock_guard lock(state_->mutex);
  auto& own = state_->streams.entry_for(stream);
  if (const std::uintptr_t block = state_->find_free(own, stream); block != 0) return block;
  // Blocks idle in threads' caches (this thread's of other streams, other threads') are used
  // before the resource grows: they join their streams' lists, and the search runs again.
  if (state_->drain_caches()) {
    if (const std::uintptr_t block = state_->find_free(own, stream); block != 0) return block;
  }

  // Every block is in use: another chunk, made on this stream, so its blocks belong to it.
  std::uintptr_t chunk = 0;
  try {
    chunk = take_chunk(upstream_, block_size_, blocks_per_chunk_, stream);
  } catch (const gpumem::out_of_memory&) {
    // Threads may have cached blocks meanwhile (their caches take no lock): those before
    // failing.
    if (state_->drain_caches()) {
      if (const std::uintptr_t block = state_->find_free(own, stream); block != 0) return block;
    }
    throw;
  }
  try {
    state_->chunks.insert(std::upper_bound(state_->chunks.begin(), state_->chunks.end(), chunk),
                          chunk);
    for (std::size_t i = blocks_per_chunk_; i-- > 1;)
      own.free_blocks.push(chunk + i * block_size_);
  } catch (...) {
    // Only host memory can fail here. A recorded chunk goes back at destruction (blocks not
    // yet pushed stay unused until then); an unrecorded one goes back now.
    if (!std::binary_search(state_->chunks.begin(), state_->chunks.end(), chunk)) {
      upstream_.deallocate_async(reinterpret_cast<void*>(chunk),
                                 block_size_ * blocks_per_chunk_,
                                 CUDA_ALLOCATION_ALIGNMENT,
                                 stream);
    }
    throw;
  }
  return chunk;
}

void fixed_size_resource_core::do_deallocate(void* ptr,
                                             std::size_t /*bytes*/,
                                             cuda_stream_view stream) noexcept {
  if (ptr == nullptr) return;
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  // The fast path: the table of blocks handed out says the block is ours, and it goes to this
  // thread's cache without the resource's lock.
  if (state_->lent.claim(address) != 0) {
    const auto mine = state_->caches.mine(stream);
    if (mine.cache != nullptr && mine.cache->put(mine.key, address, block_size_)) return;
  }
  free_block(address, stream);
}

void fixed_size_resource_core::free_block(std::uintptr_t address,
                                          cuda_stream_view stream) noexcept {
  void* const ptr = reinterpret_cast<void*>(address);
  std::lock_guard lock(state_->mutex);
  // A block lies in a chunk at a multiple of the block size: a binary search over the chunks
  // (few) keeps a foreign pointer out of the free lists, where it would be handed out later.
  const auto after = std::upper_bound(state_->chunks.begin(), state_->chunks.end(), address);
  const bool ours = after != state_->chunks.begin() &&
                    address - *std::prev(after) < block_size_ * blocks_per_chunk_ &&
                    (address - *std::prev(after)) % block_size_ == 0;
  if (!ours) {
    if (state_->foreign_free_reports.fetch_add(1) < kMaxForeignFreeReports) {
      std::fprintf(
          stderr,
          "gpumem: fixed_size_memory_resource: deallocate of %p, which this resource did not "
          "allocate; ignored\n",
          ptr);
    }
    return;
  }
  try {
    auto& entry = state_->streams.entry_for(stream);
    entry.free_blocks.push(address);
  } catch (const std::exception& error) {
    // Host memory ran out; the block is lost until destruction, which returns whole chunks anyway.
    std::fprintf(
        stderr, "gpumem: fixed_size_memory_resource: deallocate of %p: %s\n", ptr, error.what());
  }
}

}  // namespace gpumem::mr::detail
