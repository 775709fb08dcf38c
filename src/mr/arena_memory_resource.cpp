#include "gpumem/mr/arena_memory_resource.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "core/byte_size.hpp"
#include "core/coalescing_heap.hpp"
#include "core/recent_free_cache.hpp"
#include "core/segregated_free_index.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "gpumem/detail/spin_lock.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "mr/stream_retirement.hpp"
#include "mr/thread_token.hpp"

namespace gpumem::mr::detail {
namespace {

/// One thread's (per-thread default stream) or one stream's superblocks.
struct alignas(64) local_arena {
  local_arena(cudaStream_t owner_stream, std::uint64_t owner_thread)
      : stream{owner_stream}, thread{owner_thread} {}

  gpumem::detail::spin_lock mutex;
  const cudaStream_t stream;
  std::atomic<bool> retired{false};  ///< its stream was destroyed: no new work comes here
  const std::uint64_t thread;        ///< the owner's token, for the per-thread default stream only
  core::segregated_free_index index;
  core::coalescing_heap heap{CUDA_ALLOCATION_ALIGNMENT};
  core::recent_free_cache recent;

  /// Frees the recently freed blocks the normal way (merged), so whole superblocks appear.
  void drain_recent() noexcept {
    recent.drain([this](std::uintptr_t address, std::size_t) { heap.free(address, index); });
  }
};

/// Retired arenas that make arena_for() give their memory back and forget them.
constexpr std::size_t kRetiredArenasBeforeCleanup = 64;

/// Distinguishes resources in the thread-local cache even when one is created where another was.
std::atomic<std::uint64_t> next_resource_id{1};

/// The arena the calling thread used last, per thread: most threads use one resource and one
/// stream.
struct cached_arena {
  std::uint64_t resource_id = 0;
  std::uint64_t generation = 0;
  cudaStream_t stream = nullptr;
  local_arena* arena = nullptr;
};
thread_local cached_arena last_arena;

}  // namespace

struct arena_resource_core::state_type {
  state_type(device_async_resource_ref upstream, std::size_t arena_size)
      : global{upstream, arena_size, arena_size}, id{next_resource_id.fetch_add(1)} {}

  local_arena& arena_for(cuda_stream_view stream);
  /// The local arena that allocated `address`, or null.
  local_arena* owner_of(std::uintptr_t address);
  /// Gives the entirely free superblocks of every arena back to the global arena.
  void return_free_superblocks();

  pool_memory_resource<device_memory_resource> global;
  const std::uint64_t id;
  mutable std::shared_mutex arenas_mutex;
  std::vector<std::unique_ptr<local_arena>> arenas;
  std::atomic<std::size_t> large_bytes{0};
  /// Bumped when a stream is retired, so thread-local caches of arenas look again.
  std::atomic<std::uint64_t> generation{0};
  /// Retired arenas (their stream destroyed, their thread ended) not yet forgotten.
  std::size_t retired_arenas = 0;
  stream_retirement_subscription retirement{[this](const retirement_notice& ended) {
    std::unique_lock lock(arenas_mutex);
    for (const auto& arena : arenas) {
      const bool gone = ended.thread != 0
                            ? arena->stream == cudaStreamPerThread && arena->thread == ended.thread
                            : arena->stream == ended.stream && arena->stream != cudaStreamPerThread;
      if (gone && !arena->retired.exchange(true)) ++retired_arenas;
    }
    generation.fetch_add(1);
  }};
};

local_arena& arena_resource_core::state_type::arena_for(cuda_stream_view stream) {
  const cudaStream_t handle = stream.value();
  const std::uint64_t now = generation.load(std::memory_order_relaxed);
  if (last_arena.resource_id == id && last_arena.stream == handle && last_arena.generation == now) {
    return *last_arena.arena;
  }
  const std::uint64_t thread = handle == cudaStreamPerThread ? this_thread_token() : 0;
  const auto matches = [&](const auto& arena) {
    return !arena->retired.load() && arena->stream == handle && arena->thread == thread;
  };
  local_arena* found = nullptr;
  {
    std::shared_lock lock(arenas_mutex);
    const auto it = std::find_if(arenas.begin(), arenas.end(), matches);
    if (it != arenas.end()) found = it->get();
  }
  if (found == nullptr) {
    // A program that makes a stream (or a thread) per task leaves retired arenas behind: once
    // there are many, give their superblocks back (one device barrier for all) and forget them.
    bool many_retired = false;
    {
      std::shared_lock lock(arenas_mutex);
      many_retired = retired_arenas >= kRetiredArenasBeforeCleanup;
    }
    if (many_retired) return_free_superblocks();
    if (handle == cudaStreamPerThread) stream_retirement::watch_this_thread();
    std::unique_lock lock(arenas_mutex);
    const auto it = std::find_if(arenas.begin(), arenas.end(), matches);
    found = it != arenas.end()
                ? it->get()
                : arenas.emplace_back(std::make_unique<local_arena>(handle, thread)).get();
  }
  last_arena = cached_arena{id, now, handle, found};
  return *found;
}

local_arena* arena_resource_core::state_type::owner_of(std::uintptr_t address) {
  std::shared_lock lock(arenas_mutex);
  for (const auto& arena : arenas) {
    std::lock_guard arena_lock(arena->mutex);
    if (arena->heap.allocated_size(address) != 0) return arena.get();
  }
  return nullptr;
}

void arena_resource_core::state_type::return_free_superblocks() {
  // Take the free superblocks first, then wait for the device: work on them was submitted
  // before they were freed, so before they were taken, and the barrier covers it. (A barrier
  // first would miss a block freed between it and the taking.) Idle then, they go back to the
  // global arena on the default stream.
  std::vector<std::pair<local_arena*, core::address_range>> taken;
  {
    std::shared_lock lock(arenas_mutex);
    for (const auto& arena : arenas) {
      std::lock_guard arena_lock(arena->mutex);
      arena->drain_recent();
      for (const core::address_range& superblock : arena->heap.take_free_slabs())
        taken.emplace_back(arena.get(), superblock);
    }
  }
  if (gpumem::detail::cuda_calls::device_synchronize() != cudaSuccess) {
    // No barrier (a stream is capturing a graph, say): each superblock goes back to its own
    // arena, whose stream order still protects it.
    gpumem::detail::cuda_calls::clear_last_error();
    for (const auto& [arena, superblock] : taken) {
      std::lock_guard arena_lock(arena->mutex);
      arena->heap.add_slab(superblock.address, superblock.size, arena->index);
    }
    return;
  }
  for (const auto& [arena, superblock] : taken) {
    global.deallocate(
        reinterpret_cast<void*>(superblock.address), superblock.size, cuda_stream_view{});
  }
  // Retired arenas left with nothing are forgotten (every thread's cached arena is looked up
  // again: the generation changes).
  std::unique_lock lock(arenas_mutex);
  const auto erased = std::erase_if(arenas, [](const std::unique_ptr<local_arena>& arena) {
    std::lock_guard arena_lock(arena->mutex);
    return arena->retired.load() && arena->heap.slab_bytes() == 0;
  });
  retired_arenas -= std::min(retired_arenas, static_cast<std::size_t>(erased));
  if (erased != 0) generation.fetch_add(1);
}

arena_resource_core::arena_resource_core(device_async_resource_ref upstream,
                                         std::optional<std::size_t> arena_size,
                                         bool dump_log_on_failure)
    : upstream_{upstream},
      dump_log_on_failure_{dump_log_on_failure},
      state_{std::make_unique<state_type>(
          upstream,
          align_down(arena_size.value_or(percent_of_free_device_memory(50)),
                     CUDA_ALLOCATION_ALIGNMENT))} {}

arena_resource_core::~arena_resource_core() {
  // The global pool synchronizes the device and returns everything upstream when destroyed;
  // local arenas only describe memory of the global arena.
  if (last_arena.resource_id == state_->id) last_arena = cached_arena{};
}

arena_state arena_resource_core::state() const {
  arena_state snapshot{};
  const pool_state global = state_->global.state();
  snapshot.arena_size = global.pool_size;
  snapshot.largest_free_block = global.largest_free_block;
  snapshot.allocated_bytes = state_->large_bytes.load();
  std::shared_lock lock(state_->arenas_mutex);
  snapshot.local_arenas = state_->arenas.size();
  for (const auto& arena : state_->arenas) {
    std::lock_guard arena_lock(arena->mutex);
    snapshot.allocated_bytes += arena->heap.allocated_bytes() - arena->recent.bytes();
    snapshot.superblocks += arena->heap.slab_bytes() / superblock_size;
  }
  return snapshot;
}

std::string arena_resource_core::dump() const {
  std::ostringstream text;
  const pool_state global = state_->global.state();
  text << "gpumem arena: global arena " << core::format_bytes(global.pool_size) << ", of which "
       << core::format_bytes(global.allocated_bytes)
       << " handed out (superblocks and large blocks, " << global.allocated_blocks << " blocks), "
       << global.free_blocks << " free blocks, largest free "
       << core::format_bytes(global.largest_free_block) << "; large blocks in use "
       << core::format_bytes(state_->large_bytes.load()) << "\n";
  std::shared_lock lock(state_->arenas_mutex);
  for (const auto& arena : state_->arenas) {
    std::lock_guard arena_lock(arena->mutex);
    text << "  local arena of stream " << static_cast<const void*>(arena->stream);
    if (arena->stream == cudaStreamPerThread) text << " (thread " << arena->thread << ")";
    text << ": " << arena->heap.slab_bytes() / superblock_size << " superblocks, "
         << core::format_bytes(arena->heap.allocated_bytes() - arena->recent.bytes()) << " in "
         << arena->heap.allocated_blocks() - arena->recent.blocks() << " blocks, "
         << core::format_bytes(arena->index.free_bytes()) << " free in "
         << arena->index.block_count() << " blocks (largest "
         << core::format_bytes(arena->index.largest_block()) << "), "
         << core::format_bytes(arena->recent.bytes()) << " freed lately and kept whole\n";
  }
  return text.str();
}

void* arena_resource_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  if (bytes == 0) return nullptr;
  const std::size_t size = align_up(bytes, CUDA_ALLOCATION_ALIGNMENT);
  state_type& shared = *state_;
  const bool large = size > large_request_threshold;
  local_arena* arena = nullptr;
  if (!large) {
    arena = &shared.arena_for(stream);
    std::lock_guard lock(arena->mutex);
    if (const std::uintptr_t address = arena->recent.take(size); address != 0)
      return reinterpret_cast<void*>(address);
    if (const std::uintptr_t address = arena->heap.allocate(arena->index, size); address != 0) {
      return reinterpret_cast<void*>(address);
    }
    if (arena->recent.blocks() != 0) {
      arena->drain_recent();
      if (const std::uintptr_t address = arena->heap.allocate(arena->index, size); address != 0) {
        return reinterpret_cast<void*>(address);
      }
    }
  }
  const std::size_t from_global = large ? size : superblock_size;
  void* block = nullptr;
  std::string failure;
  for (int attempt = 0; attempt < 2 && block == nullptr; ++attempt) {
    try {
      block = shared.global.allocate(from_global, stream);
    } catch (const gpumem::out_of_memory& error) {
      failure = error.what();
      if (attempt == 0) shared.return_free_superblocks();
    }
  }
  if (block == nullptr) {
    std::ostringstream message;
    const arena_state snapshot = this->state();
    message << "arena_memory_resource: cannot allocate " << core::format_bytes(bytes) << " ("
            << bytes << " bytes) on stream " << stream << ": arena size "
            << core::format_bytes(snapshot.arena_size) << ", in use "
            << core::format_bytes(snapshot.allocated_bytes) << ", " << snapshot.local_arenas
            << " local arenas holding " << snapshot.superblocks << " superblocks; " << failure;
    if (dump_log_on_failure_) {
      const std::string path = "gpumem_arena_dump_" + std::to_string(::getpid()) + ".log";
      std::ofstream file{path};
      file << message.str() << "\n" << dump();
      message << (file ? "; state written to " + path
                       : "; could not write " + path + ": " + std::strerror(errno));
    }
    throw gpumem::out_of_memory{message.str()};
  }
  if (large) {
    shared.large_bytes.fetch_add(size);
    return block;
  }
  std::lock_guard lock(arena->mutex);
  arena->heap.add_slab(reinterpret_cast<std::uintptr_t>(block), superblock_size, arena->index);
  return reinterpret_cast<void*>(arena->heap.allocate(arena->index, size));
}

void arena_resource_core::do_deallocate(void* ptr,
                                        std::size_t bytes,
                                        cuda_stream_view stream) noexcept {
  if (ptr == nullptr) return;
  const std::size_t size = align_up(bytes, CUDA_ALLOCATION_ALIGNMENT);
  state_type& shared = *state_;
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  if (size > large_request_threshold) {
    shared.global.deallocate(ptr, size, stream);
    shared.large_bytes.fetch_sub(size);
    return;
  }
  local_arena& arena = shared.arena_for(stream);
  core::address_range spare{0, 0};
  {
    std::lock_guard lock(arena.mutex);
    // Kept whole for the next request of its size, when it is this arena's block.
    if (const std::size_t allocated = arena.heap.allocated_size(address);
        allocated != 0 && arena.recent.put(address, allocated)) {
      return;
    }
    const auto freed = arena.heap.free_block(address, arena.index);
    if (freed.size != 0) {
      // Keep about one superblock of free space per arena; give the rest back so other
      // threads and streams can use it.
      if (freed.whole_free_slab.size != 0 &&
          arena.index.free_bytes() - freed.whole_free_slab.size >= superblock_size) {
        arena.heap.remove_free_slab(freed.whole_free_slab);
        spare = freed.whole_free_slab;
      }
    }
    if (freed.size != 0 && spare.size == 0) return;
  }
  if (spare.size != 0) {
    shared.global.deallocate(reinterpret_cast<void*>(spare.address), spare.size, stream);
    return;
  }
  // Allocated by another thread's or stream's arena. The memory is free once this stream is
  // done with it; wait for that, since the owning arena reuses it on its own stream.
  if (gpumem::detail::cuda_calls::stream_synchronize(stream.value()) != cudaSuccess) {
    // The stream cannot be waited for (capturing, say): the whole device then, or the block
    // stays out of every free list rather than be reused while in use.
    gpumem::detail::cuda_calls::clear_last_error();
    if (gpumem::detail::cuda_calls::device_synchronize() != cudaSuccess) {
      gpumem::detail::cuda_calls::clear_last_error();
      std::fprintf(stderr,
                   "gpumem: arena_memory_resource: %p freed on a stream that cannot be waited "
                   "for; kept out of use\n",
                   ptr);
      return;
    }
  }
  if (local_arena* owner = shared.owner_of(address); owner != nullptr) {
    std::lock_guard lock(owner->mutex);
    owner->heap.free(address, owner->index);
    return;
  }
  std::fprintf(
      stderr,
      "gpumem: arena_memory_resource: deallocate of %p (%zu bytes), which this arena did not "
      "allocate; ignored\n",
      ptr,
      bytes);
}

}  // namespace gpumem::mr::detail
