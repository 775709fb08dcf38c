// The torture test: a CUDA program written as users write them, that checks every word it
// ever wrote. Host threads, each on one kind of stream (thread 0 the legacy default stream,
// thread 1 the per-thread default stream, thread 2 a blocking stream, the others non-blocking
// streams), make random allocations with every allocation call, fill each block with a
// pattern unique to (thread, operation), free blocks while the kernels that write them may
// still run, copy, set, verify older blocks on the device and on the host, synchronize, and
// destroy streams right after stream-ordered frees on them. cudaMalloc blocks are filled now and
// then on a second stream of the thread's (its stream then waits for that fill), so a block
// reused within one thread before the device is done with it shows too. Each thread touches only
// blocks it owns, so any word that does not hold its block's pattern was written by someone else:
// memory handed out while still in use. Host checks: every block 256-byte aligned, no two live
// blocks overlap.
//
// Built three ways from this one file: against the CUDA runtime with the static and with the
// shared runtime (run plain and under libgpumem_preload.so), and with GPUMEM_TORTURE_LIBRARY,
// where each allocation goes to a gpumem memory resource (--resource NAME) on the thread's
// stream under RMM's stream-ordering rule.
//
//   torture [--threads N] [--ops N] [--seed N] [--max-size BYTES] [--huge-every N]
//           [--live-bytes BYTES] [--no-managed] [--inject] [--expect-corruption]
//           [--expect-shim] [--devices N] [--resource NAME]   (--resource: library build only)
//
// --devices N (runtime builds; 0: every device there is) spreads the threads over N devices: thread
// t works on device t % N (its stream, blocks and kernels there), and every fourth thread frees its
// cudaMalloc and managed blocks with another device current and waits for that device now and then,
// so frees reach the owning device's stack from any current device.
//
// Prints one summary line "torture: ..." and exits 0 when nothing was wrong. --inject
// overwrites live blocks behind the program's back (the positive control: it must be seen);
// --expect-corruption inverts the verdict (exit 0 only when corruption was seen), for
// negative controls such as the shim's documented-unsafe stream_ordered policy. --expect-shim
// fails the run at once unless libgpumem_preload.so is loaded, so a run meant to test the shim
// cannot pass plain CUDA off as the shim (the loader only warns about a missing LD_PRELOAD).

#include <cuda_runtime.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#ifdef GPUMEM_TORTURE_LIBRARY
#include <gpumem/error.hpp>
#include <gpumem/mr/arena_memory_resource.hpp>
#include <gpumem/mr/binning_memory_resource.hpp>
#include <gpumem/mr/cuda_async_memory_resource.hpp>
#include <gpumem/mr/cuda_memory_resource.hpp>
#include <gpumem/mr/expandable_memory_resource.hpp>
#include <gpumem/mr/fixed_size_memory_resource.hpp>
#include <gpumem/mr/limiting_resource_adaptor.hpp>
#include <gpumem/mr/logging_resource_adaptor.hpp>
#include <gpumem/mr/pool_memory_resource.hpp>
#include <gpumem/mr/statistics_resource_adaptor.hpp>
#include <gpumem/mr/thread_safe_resource_adaptor.hpp>
#include <gpumem/mr/tracking_resource_adaptor.hpp>
#include <gpumem/stream_destroyed.hpp>
#endif

namespace {

constexpr int kMaxThreads = 64;
constexpr std::size_t kAlignment = 256;

// Per host thread: mismatched words seen by the device, and the first one's address and value.
__device__ unsigned long long g_mismatches[kMaxThreads];
__device__ unsigned long long g_first_address[kMaxThreads];
__device__ unsigned int g_first_value[kMaxThreads];

__device__ void wait_nanoseconds(unsigned long long nanoseconds) {
  unsigned long long start = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  for (unsigned long long now = start; now - start < nanoseconds;) {
    __nanosleep(1000);
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  }
}

/// Writes `word` into every whole 32-bit word of the block and its low byte into the tail
/// bytes, after waiting `delay` ns (a slow writer widens the window in which a free races it).
__global__ void fill(unsigned char* block, std::size_t bytes, unsigned int word, unsigned delay) {
  if (delay != 0) wait_nanoseconds(delay);
  const std::size_t words = bytes / 4;
  auto* as_words = reinterpret_cast<unsigned int*>(block);
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < words; i += stride)
    as_words[i] = word;
  if (blockIdx.x == 0 && threadIdx.x < bytes % 4)
    block[words * 4 + threadIdx.x] = static_cast<unsigned char>(word & 0xffU);
}

/// Counts the words (and tail bytes) that do not hold `word`, in the calling host thread's slot.
__global__ void verify(
    const unsigned char* block, std::size_t bytes, unsigned int word, int slot, unsigned delay) {
  if (delay != 0) wait_nanoseconds(delay);
  const std::size_t words = bytes / 4;
  const auto* as_words = reinterpret_cast<const unsigned int*>(block);
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  unsigned long long wrong = 0;
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < words; i += stride) {
    const unsigned int seen = as_words[i];
    if (seen != word) {
      if (wrong == 0 && atomicCAS(&g_first_address[slot],
                                  0ULL,
                                  reinterpret_cast<unsigned long long>(&as_words[i])) == 0ULL) {
        g_first_value[slot] = seen;
      }
      ++wrong;
    }
  }
  if (blockIdx.x == 0 && threadIdx.x < bytes % 4 &&
      block[words * 4 + threadIdx.x] != static_cast<unsigned char>(word & 0xffU)) {
    ++wrong;
  }
  if (wrong != 0) atomicAdd(&g_mismatches[slot], wrong);
}

/// The positive control: a write behind the program's back.
__global__ void corrupt(unsigned char* block, std::size_t bytes, unsigned int word) {
  auto* as_words = reinterpret_cast<unsigned int*>(block);
  if (bytes >= 4) as_words[(bytes / 4) / 2] = ~word;
}

unsigned grid_for(std::size_t bytes) {
  const std::size_t words = bytes / 4 + 1;
  return static_cast<unsigned>(std::min<std::size_t>((words + 255) / 256, 2048));
}

struct options {
  int threads = 8;
  long ops = 20000;  // in all, over every thread
  unsigned seed = 1;
  std::size_t max_size = std::size_t{64} << 20;
  long huge_every = 4000;  // about one 1 GiB allocation in this many allocations (0: none)
  std::size_t live_bytes = std::size_t{384} << 20;  // per thread, before it frees first
  bool managed = true;
  bool inject = false;
  bool expect_corruption = false;
  bool expect_shim = false;
  std::string resource = "pool";
  int devices = 1;          // threads spread over this many devices (runtime builds)
  int stall_seconds = 120;  // the watchdog stops a run in which no thread progressed this long
};

/// What went wrong, over every thread.
struct tally {
  std::atomic<unsigned long long> operations{0};
  std::atomic<unsigned long long> host_mismatches{0};
  std::atomic<unsigned long long> cuda_errors{0};
  std::atomic<unsigned long long> out_of_memory{0};
  std::atomic<unsigned long long> misaligned{0};
  std::atomic<unsigned long long> overlaps{0};
  std::atomic<unsigned long long> injected{0};
  std::atomic<unsigned long long> served_bytes{0};
};
tally totals;

std::mutex report_mutex;
int reports_left = 20;

void report(const std::string& line) {
  std::lock_guard lock(report_mutex);
  if (reports_left-- > 0) std::fprintf(stderr, "torture: %s\n", line.c_str());
}

bool check(cudaError_t status, const char* what, int thread) {
  if (status == cudaSuccess) return true;
  ++totals.cuda_errors;
  report("thread " + std::to_string(thread) + ": " + what + ": " + cudaGetErrorName(status) + " (" +
         cudaGetErrorString(status) + ")");
  return false;
}

/// Every live block of every thread, to find two that overlap.
class live_ranges {
 public:
  bool insert(std::uintptr_t address, std::size_t size) {
    std::lock_guard lock(mutex_);
    auto next = ranges_.lower_bound(address);
    if (next != ranges_.end() && next->first < address + size) return false;
    if (next != ranges_.begin()) {
      auto previous = std::prev(next);
      if (previous->first + previous->second > address) return false;
    }
    ranges_.emplace(address, size);
    return true;
  }
  void erase(std::uintptr_t address) {
    std::lock_guard lock(mutex_);
    ranges_.erase(address);
  }

 private:
  std::mutex mutex_;
  std::map<std::uintptr_t, std::size_t> ranges_;
};
live_ranges ranges;

enum class origin { synchronous, stream_ordered, managed };

struct block {
  unsigned char* pointer = nullptr;
  std::size_t size = 0;
  unsigned int word = 0;
  origin from = origin::synchronous;
};

#ifdef GPUMEM_TORTURE_LIBRARY
/// The resource under test, with what it stands on.
struct resource_under_test {
  std::vector<std::shared_ptr<void>> keep;  ///< upstream first
  gpumem::mr::device_memory_resource* top = nullptr;

  resource_under_test() = default;
  resource_under_test(const resource_under_test&) = delete;
  resource_under_test& operator=(const resource_under_test&) = delete;
  resource_under_test(resource_under_test&&) = default;
  resource_under_test& operator=(resource_under_test&&) = delete;
  /// Adaptors before what they stand on.
  ~resource_under_test() {
    while (!keep.empty())
      keep.pop_back();
  }
};

template <typename Resource, typename... Arguments>
Resource* add(resource_under_test& built, Arguments&&... arguments) {
  auto made = std::make_shared<Resource>(std::forward<Arguments>(arguments)...);
  built.keep.push_back(made);
  built.top = made.get();
  return made.get();
}

resource_under_test make_resource(const std::string& name, options& settings) {
  std::size_t* max_size = &settings.max_size;
  using namespace gpumem::mr;
  resource_under_test built;
  auto* cuda = add<cuda_memory_resource>(built);
  const std::size_t initial = std::size_t{1} << 30;
  if (name == "cuda") return built;
  if (name == "cuda_async") {
    add<cuda_async_memory_resource>(built);
  } else if (name == "pool") {
    add<pool_memory_resource<cuda_memory_resource>>(built, cuda, initial);
  } else if (name == "pool_growing") {
    add<pool_memory_resource<cuda_memory_resource>>(built, cuda, 0);
  } else if (name == "pool_expandable") {
    // One slab that grows in place and coalesces across growth, its free end given back.
    auto* expandable = add<expandable_memory_resource>(built);
    add<pool_memory_resource<expandable_memory_resource>>(built, expandable, 0);
  } else if (name == "arena") {
    add<arena_memory_resource<cuda_memory_resource>>(built, cuda, std::size_t{8} << 30);
  } else if (name == "binning") {
    auto* pool = add<pool_memory_resource<cuda_memory_resource>>(built, cuda, initial);
    add<binning_memory_resource<pool_memory_resource<cuda_memory_resource>>>(built, pool, 8, 20);
  } else if (name == "fixed_size") {
    add<fixed_size_memory_resource<cuda_memory_resource>>(built, cuda, std::size_t{1} << 20, 64);
    *max_size = std::min<std::size_t>(*max_size, std::size_t{1} << 20);
    settings.huge_every = 0;  // its blocks are 1 MiB at most
  } else if (name == "statistics") {
    auto* pool = add<pool_memory_resource<cuda_memory_resource>>(built, cuda, initial);
    add<statistics_resource_adaptor<pool_memory_resource<cuda_memory_resource>>>(built, pool);
  } else if (name == "limiting") {
    auto* pool = add<pool_memory_resource<cuda_memory_resource>>(built, cuda, initial);
    add<limiting_resource_adaptor<pool_memory_resource<cuda_memory_resource>>>(
        built, pool, std::size_t{48} << 30);
  } else if (name == "tracking") {
    auto* pool = add<pool_memory_resource<cuda_memory_resource>>(built, cuda, initial);
    add<tracking_resource_adaptor<pool_memory_resource<cuda_memory_resource>>>(built, pool);
  } else if (name == "thread_safe") {
    auto* pool = add<pool_memory_resource<cuda_memory_resource>>(built, cuda, initial);
    add<thread_safe_resource_adaptor<pool_memory_resource<cuda_memory_resource>>>(built, pool);
  } else {
    std::fprintf(stderr, "torture: unknown --resource %s\n", name.c_str());
    std::exit(2);
  }
  return built;
}

resource_under_test* the_resource = nullptr;
#endif

/// One host thread's work.
class worker {
 public:
  worker(int index, const options& settings)
      : index_{index}, settings_{settings}, random_{settings.seed * 7919U + index * 104729U} {}

  void run(long operations) {
    at("choosing its device");
    if (settings_.devices > 1 && !check(cudaSetDevice(home()), "cudaSetDevice", index_)) return;
    at("creating its stream");
    if (!open_stream() || !open_side_stream()) return;
    for (long op = 0; op < operations; ++op) {
      ++totals.operations;
      done_.store(op, std::memory_order_relaxed);
      step(static_cast<unsigned int>(op));
    }
    at("verifying its last blocks");
    finish();
    at("done");
  }

  /// What the thread does now and how many operations it did, for the watchdog.
  const char* phase() const { return phase_.load(std::memory_order_relaxed); }
  long done() const { return done_.load(std::memory_order_relaxed); }

 private:
  void at(const char* phase) { phase_.store(phase, std::memory_order_relaxed); }

  // --- the thread's device, and another one for frees
  int home() const { return index_ % settings_.devices; }
#ifndef GPUMEM_TORTURE_LIBRARY
  /// Whether this thread frees with another device current (every fourth thread).
  bool switches() const {
    return settings_.devices > 1 && index_ % 4 == 3;
  }
  int other_device() const {
    return (home() + 1) % settings_.devices;
  }

  /// cudaFree of `pointer` with another device current, then the home device again.
  void free_from_other_device(void* pointer, const char* what) {
    at("cudaFree from another device");
    check(cudaSetDevice(other_device()), "cudaSetDevice (other)", index_);
    check(cudaFree(pointer), what, index_);
    if (random_() % 8 == 0) check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (other)", index_);
    check(cudaSetDevice(home()), "cudaSetDevice (home)", index_);
  }
#endif

  // --- the thread's stream
  bool open_stream() {
    if (index_ == 0) {
      stream_ = nullptr;  // the legacy default stream (a program built without per-thread)
      return true;
    }
    if (index_ == 1) {
      stream_ = cudaStreamPerThread;
      return true;
    }
    return make_stream(&stream_);
  }
  bool make_stream(cudaStream_t* stream) {
    const unsigned flags = index_ == 2 ? cudaStreamDefault : cudaStreamNonBlocking;
    return check(cudaStreamCreateWithFlags(stream, flags), "cudaStreamCreateWithFlags", index_);
  }
  bool owns_stream() const {
    return index_ >= 2;
  }

  /// The thread's side stream (non-blocking) and the event its stream waits on after a fill
  /// there. Runtime builds only: a cudaMalloc block serves any stream.
  bool open_side_stream() {
#ifndef GPUMEM_TORTURE_LIBRARY
    return check(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking),
                 "cudaStreamCreateWithFlags (side)",
                 index_) &&
           check(cudaEventCreateWithFlags(&side_done_, cudaEventDisableTiming),
                 "cudaEventCreate (side)",
                 index_);
#else
    return true;
#endif
  }

  /// The stream of this operation: thread 0 names the legacy stream both ways.
  cudaStream_t stream() {
    if (index_ == 0) return (random_() & 1U) != 0 ? cudaStreamLegacy : nullptr;
    return stream_;
  }

  // --- allocation, by the program's calls (or the library resource)
  bool allocate(block& made, std::size_t size, origin from) {
    made = block{};
    made.size = size;
    made.from = from;
    void* pointer = nullptr;
    cudaError_t status = cudaSuccess;
#ifdef GPUMEM_TORTURE_LIBRARY
    if (from == origin::managed) {
      status = cudaMallocManaged(&pointer, size);
    } else {
      try {
        pointer = the_resource->top->allocate(size, gpumem::cuda_stream_view{stream()});
      } catch (const gpumem::out_of_memory& error) {
        ++totals.out_of_memory;
        report("thread " + std::to_string(index_) + ": out of memory: " + error.what());
        return false;
      } catch (const std::exception& error) {
        ++totals.cuda_errors;
        report("thread " + std::to_string(index_) + ": allocate: " + error.what());
        return false;
      }
    }
#else
    switch (from) {
      case origin::synchronous:
        at("cudaMalloc");
        status = cudaMalloc(&pointer, size);
        break;
      case origin::stream_ordered:
        at("cudaMallocAsync");
        status = cudaMallocAsync(&pointer, size, stream());
        break;
      case origin::managed:
        at("cudaMallocManaged");
        status = cudaMallocManaged(&pointer, size);
        break;
    }
#endif
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      ++totals.out_of_memory;
      report("thread " + std::to_string(index_) + ": out of memory for " + std::to_string(size) +
             " bytes (live here: " + std::to_string(live_bytes_) + ")");
      return false;
    }
    if (!check(status, "allocation", index_)) return false;
    made.pointer = static_cast<unsigned char*>(pointer);
    if (size == 0) return true;  // CUDA may answer a null pointer, or any
    const auto address = reinterpret_cast<std::uintptr_t>(pointer);
    if (address % kAlignment != 0) {
      ++totals.misaligned;
      report("thread " + std::to_string(index_) + ": block " + std::to_string(address) +
             " is not 256-byte aligned");
    }
    if (!ranges.insert(address, size)) {
      ++totals.overlaps;
      report("thread " + std::to_string(index_) + ": block at " + std::to_string(address) + " of " +
             std::to_string(size) + " bytes overlaps a live block");
    }
    totals.served_bytes += size;
    return true;
  }

  /// Frees a block the way it was allocated: cudaFree for cudaMalloc and managed blocks
  /// (CUDA waits for the device), cudaFreeAsync on the thread's stream for cudaMallocAsync
  /// blocks (stream order; freeing cudaMalloc memory that way is not stream ordered in CUDA).
  void release(block& gone) {
    if (gone.pointer != nullptr && gone.size != 0)
      ranges.erase(reinterpret_cast<std::uintptr_t>(gone.pointer));
#ifdef GPUMEM_TORTURE_LIBRARY
    if (gone.from == origin::managed) {
      check(cudaFree(gone.pointer), "cudaFree (managed)", index_);
    } else if (gone.pointer != nullptr || gone.size != 0) {
      at("deallocate");
      the_resource->top->deallocate(gone.pointer, gone.size, gpumem::cuda_stream_view{stream()});
    }
#else
    if (gone.from == origin::stream_ordered) {
      at("cudaFreeAsync");
      check(cudaFreeAsync(gone.pointer, stream()), "cudaFreeAsync", index_);
    } else if (switches()) {
      free_from_other_device(gone.pointer, "cudaFree");
    } else {
      at("cudaFree");
      check(cudaFree(gone.pointer), "cudaFree", index_);
    }
#endif
  }

  // --- operations
  std::size_t random_size() {
    if (random_() % 100 == 0) return 0;
    // A third of the requests use sizes every thread uses, as programs do: a block one thread
    // frees is often the next block another thread gets.
    if (random_() % 3 == 0) {
      static constexpr std::size_t kCommon[] = {256, 4096, 65536, 1 << 20, 4 << 20};
      return std::min(settings_.max_size, kCommon[random_() % std::size(kCommon)]);
    }
    if (settings_.huge_every > 0 && random_() % settings_.huge_every == 0)
      return std::size_t{1} << 30;
    std::uniform_real_distribution<double> exponent(
        0.0, std::log(static_cast<double>(settings_.max_size)));
    return std::max<std::size_t>(1, static_cast<std::size_t>(std::exp(exponent(random_))));
  }

  unsigned int next_word(unsigned int op) {
    // Unique to (thread, operation); never 0 or a memset pattern by chance alone.
    const unsigned int word = (static_cast<unsigned int>(index_ + 1) << 24) ^ (op * 2654435761U) ^
                              (static_cast<unsigned int>(++serial_) << 8);
    return word == 0 ? 0x5a5a5a5aU : word;
  }

  unsigned delay() {
    return random_() % 10 == 0 ? 20000 + random_() % 80000 : 0;
  }

  void launch_fill(block& target, unsigned int word) {
    if (target.size == 0) return;
    target.word = word;
    // A block freed at once is written slowly more often: the free races its writer, and any
    // reuse before the writer ends shows in the next owner's block.
    const unsigned wait =
        freed_at_once_ && random_() % 2 == 0 ? 50000 + random_() % 150000 : delay();
    // A cudaMalloc block serves any stream: a quarter of them are filled on the thread's side
    // stream, and its stream then waits for that fill. So a block handed out while work of an
    // earlier owner still runs is written beside that work even when the earlier owner was this
    // thread, on its own stream: an allocator that keeps each thread's freed blocks for that
    // thread must still not hand them out before the device is done with them.
    const bool aside = side_ != nullptr && target.from == origin::synchronous && random_() % 4 == 0;
    fill<<<grid_for(target.size), 256, 0, aside ? side_ : stream()>>>(
        target.pointer, target.size, word, wait);
    check(cudaGetLastError(), "fill launch", index_);
    if (aside) {
      check(cudaEventRecord(side_done_, side_), "cudaEventRecord (side)", index_);
      check(cudaStreamWaitEvent(stream(), side_done_, 0), "cudaStreamWaitEvent (side)", index_);
    }
  }

  void launch_verify(const block& target) {
    if (target.size == 0) return;
    verify<<<grid_for(target.size), 256, 0, stream()>>>(
        target.pointer, target.size, target.word, index_, random_() % 20 == 0 ? 50000 : 0);
    check(cudaGetLastError(), "verify launch", index_);
  }

  void step(unsigned int op) {
    const unsigned choice = random_() % 100;
    if (live_.size() >= 24 || live_bytes_ >= settings_.live_bytes) {
      free_one();
      return;
    }
    if (choice < 30) {
      allocate_and_fill(origin::synchronous, op);
    } else if (choice < 48) {
      allocate_and_fill(origin::stream_ordered, op);
    } else if (choice < 52) {
      if (settings_.managed) allocate_managed(op);
    } else if (choice < 64) {
      if (!live_.empty()) free_one();
    } else if (choice < 71) {
      set_bytes();
    } else if (choice < 78) {
      copy_into_new();
    } else if (choice < 88) {
      if (!live_.empty()) launch_verify(live_[random_() % live_.size()]);
    } else if (choice < 92) {
      host_check();
    } else if (choice < 96) {
      at("cudaStreamSynchronize");
      check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize", index_);
    } else if (choice < 97) {
      at("cudaDeviceSynchronize");
      check(cudaDeviceSynchronize(), "cudaDeviceSynchronize", index_);
    } else if (choice < 99) {
      replace_stream();
    } else if (settings_.inject) {
      inject();
    }
  }

  void allocate_and_fill(origin from, unsigned int op) {
    block made;
    freed_at_once_ = random_() % 4 == 0;
    if (!allocate(made, random_size(), from)) return;
    launch_fill(made, next_word(op));
    // Freed at once while the kernel that writes it may still run (huge blocks always).
    if (made.size >= (std::size_t{1} << 30) || freed_at_once_) {
      release(made);
      return;
    }
    keep(made);
  }

  void allocate_managed(unsigned int op) {
    block made;
    const std::size_t size = std::min<std::size_t>(random_size(), std::size_t{4} << 20);
    if (!allocate(made, size, origin::managed) || made.size == 0) return;
    made.word = next_word(op);
    at("writing a managed block on the host");
    auto* words = reinterpret_cast<unsigned int*>(made.pointer);
    for (std::size_t i = 0; i < made.size / 4; ++i)
      words[i] = made.word;
    for (std::size_t i = made.size / 4 * 4; i < made.size; ++i)
      made.pointer[i] = static_cast<unsigned char>(made.word & 0xffU);
    keep(made);
  }

  void keep(const block& made) {
    live_.push_back(made);
    live_bytes_ += made.size;
  }

  void free_one() {
    if (live_.empty()) return;
    const std::size_t which = random_() % live_.size();
    block gone = live_[which];
    live_[which] = live_.back();
    live_.pop_back();
    live_bytes_ -= gone.size;
    if (gone.from == origin::managed) {
      at("reading a managed block on the host");
      // The host reads it back before giving it up: device work on it must be done.
      check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize", index_);
      host_compare(gone.pointer, gone.size, gone.word, "managed block");
    }
    release(gone);
  }

  void set_bytes() {
    if (live_.empty()) return;
    block& target = live_[random_() % live_.size()];
    if (target.size == 0 || target.from == origin::managed) return;
    const unsigned char value = static_cast<unsigned char>(1 + random_() % 254);
    target.word = value * 0x01010101U;
    check(cudaMemsetAsync(target.pointer, value, target.size, stream()), "cudaMemsetAsync", index_);
  }

  void copy_into_new() {
    if (live_.empty()) return;
    const block source = live_[random_() % live_.size()];
    if (source.size == 0 || source.from == origin::managed) return;
    block made;
    freed_at_once_ = false;
    if (!allocate(
            made, source.size, random_() % 2 == 0 ? origin::synchronous : origin::stream_ordered))
      return;
    made.word = source.word;
    check(cudaMemcpyAsync(
              made.pointer, source.pointer, source.size, cudaMemcpyDeviceToDevice, stream()),
          "cudaMemcpyAsync",
          index_);
    keep(made);
  }

  void host_check() {
    if (live_.empty()) return;
    const block& target = live_[random_() % live_.size()];
    if (target.size == 0 || target.from == origin::managed) return;
    const std::size_t bytes = std::min<std::size_t>(target.size, std::size_t{1} << 20);
    host_copy_.resize(bytes);
    // cudaMemcpy runs on the legacy stream, which does not wait for a non-blocking stream.
    at("cudaMemcpy to the host");
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize", index_);
    if (!check(cudaMemcpy(host_copy_.data(), target.pointer, bytes, cudaMemcpyDeviceToHost),
               "cudaMemcpy",
               index_)) {
      return;
    }
    host_compare(host_copy_.data(), bytes, target.word, "host copy");
  }

  void host_compare(const unsigned char* bytes,
                    std::size_t size,
                    unsigned int word,
                    const char* what) {
    unsigned long long wrong = 0;
    unsigned int first = 0;
    for (std::size_t i = 0; i + 4 <= size; i += 4) {
      unsigned int seen = 0;
      std::memcpy(&seen, bytes + i, 4);
      if (seen != word && wrong++ == 0) first = seen;
    }
    for (std::size_t i = size / 4 * 4; i < size; ++i) {
      if (bytes[i] != static_cast<unsigned char>(word & 0xffU)) ++wrong;
    }
    if (wrong != 0) {
      totals.host_mismatches += wrong;
      char line[160];
      std::snprintf(line,
                    sizeof line,
                    "thread %d: %s: %llu wrong words, first 0x%08x instead of 0x%08x",
                    index_,
                    what,
                    wrong,
                    first,
                    word);
      report(line);
    }
  }

  void replace_stream() {
    if (!owns_stream()) return;
    // A few stream-ordered frees, then the stream goes at once (CUDA allows it); the
    // replacement waits for the old stream's work so the live blocks stay well ordered.
    for (int i = 0; i < 3 && !live_.empty(); ++i)
      free_one();
    at("replacing its stream");
    cudaEvent_t done = nullptr;
    if (!check(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate", index_))
      return;
    check(cudaEventRecord(done, stream_), "cudaEventRecord", index_);
    destroy_stream();
    if (!make_stream(&stream_)) return;
    check(cudaStreamWaitEvent(stream_, done, 0), "cudaStreamWaitEvent", index_);
    check(cudaEventDestroy(done), "cudaEventDestroy", index_);
  }

  /// Destroys the thread's own stream. The library's resources hear of it first (their rule;
  /// the shim hooks stream destruction itself).
  void destroy_stream() {
#ifdef GPUMEM_TORTURE_LIBRARY
    gpumem::notify_stream_destroyed(stream_);
#endif
    check(cudaStreamDestroy(stream_), "cudaStreamDestroy", index_);
  }

  void inject() {
    if (live_.empty()) return;
    block& target = live_[random_() % live_.size()];
    if (target.size < 4 || target.from == origin::managed) return;
    corrupt<<<1, 1, 0, stream()>>>(target.pointer, target.size, target.word);
    if (check(cudaGetLastError(), "corrupt launch", index_)) ++totals.injected;
  }

  void finish() {
    for (const block& left : live_) {
      if (left.from == origin::managed) {
        check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize", index_);
        host_compare(left.pointer, left.size, left.word, "managed block at the end");
      } else {
        launch_verify(left);
      }
    }
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize", index_);
    while (!live_.empty())
      free_one();
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize", index_);
    if (owns_stream()) destroy_stream();
    if (side_ != nullptr) {
      check(cudaEventDestroy(side_done_), "cudaEventDestroy (side)", index_);
      check(cudaStreamDestroy(side_), "cudaStreamDestroy (side)", index_);
    }
  }

  std::atomic<const char*> phase_{"starting"};
  std::atomic<long> done_{0};
  int index_;
  const options& settings_;
  std::mt19937 random_;
  cudaStream_t stream_ = nullptr;
  cudaStream_t side_ = nullptr;      ///< the side stream (runtime builds)
  cudaEvent_t side_done_ = nullptr;  ///< recorded after a fill on the side stream
  std::vector<block> live_;
  std::size_t live_bytes_ = 0;
  unsigned int serial_ = 0;
  bool freed_at_once_ = false;  ///< the block being made is freed right after its fill
  std::vector<unsigned char> host_copy_;
};

options parse(int argc, char** argv) {
  options settings;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "torture: %s needs a value\n", flag.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--threads")
      settings.threads = std::atoi(value());
    else if (flag == "--ops")
      settings.ops = std::atol(value());
    else if (flag == "--seed")
      settings.seed = static_cast<unsigned>(std::strtoul(value(), nullptr, 10));
    else if (flag == "--max-size")
      settings.max_size = std::strtoull(value(), nullptr, 10);
    else if (flag == "--huge-every")
      settings.huge_every = std::atol(value());
    else if (flag == "--live-bytes")
      settings.live_bytes = std::strtoull(value(), nullptr, 10);
    else if (flag == "--no-managed")
      settings.managed = false;
    else if (flag == "--inject")
      settings.inject = true;
    else if (flag == "--expect-corruption")
      settings.expect_corruption = true;
    else if (flag == "--expect-shim")
      settings.expect_shim = true;
    else if (flag == "--resource")
      settings.resource = value();
    else if (flag == "--devices")
      settings.devices = std::atoi(value());
    else if (flag == "--stall-seconds")
      settings.stall_seconds = std::atoi(value());
    else {
      std::fprintf(stderr, "torture: unknown argument %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (settings.threads < 1 || settings.threads > kMaxThreads || settings.ops < 1 ||
      settings.max_size < 1 || settings.devices < 0) {
    std::fprintf(stderr,
                 "torture: --threads 1..%d, --ops and --max-size positive, --devices 0 or more\n",
                 kMaxThreads);
    std::exit(2);
  }
#ifdef GPUMEM_TORTURE_LIBRARY
  if (settings.devices != 1) {
    std::fprintf(stderr,
                 "torture: --devices is for the runtime builds (one resource, one device)\n");
    std::exit(2);
  }
#endif
  return settings;
}

/// A crash says where (the summary line would be lost with it).
void on_crash(int signal) {
  static const char kMessage[] = "torture: FAILED: crashed; the stack:\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  void* frames[64];
  backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::signal(SIGSEGV, on_crash);
  std::signal(SIGBUS, on_crash);
  std::signal(SIGABRT, on_crash);
  options settings = parse(argc, argv);
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("SKIPPED: torture needs a CUDA GPU\n");
    return 77;
  }
#ifndef GPUMEM_TORTURE_LIBRARY
  if (settings.devices == 0) settings.devices = devices;
#endif
  if (settings.devices > devices) {
    std::printf("SKIPPED: --devices %d, but this machine has %d\n", settings.devices, devices);
    return 77;
  }
  std::string mode = "cuda runtime";
  using version_function = const char* (*)();
  auto preload_version =
      reinterpret_cast<version_function>(dlsym(RTLD_DEFAULT, "gpumem_preload_version"));
  if (preload_version != nullptr)
    mode += std::string(" under libgpumem_preload.so ") + preload_version();
  else if (settings.expect_shim) {
    std::printf("torture: FAILED: --expect-shim, but libgpumem_preload.so is not loaded\n");
    return 1;
  }
#ifdef GPUMEM_TORTURE_LIBRARY
  resource_under_test resource = make_resource(settings.resource, settings);
  the_resource = &resource;
  mode = "resource " + settings.resource;
#endif
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<worker>> workers;
  for (int t = 0; t < settings.threads; ++t)
    workers.push_back(std::make_unique<worker>(t, settings));
  const long per_thread = (settings.ops + settings.threads - 1) / settings.threads;
  for (int t = 0; t < settings.threads; ++t)
    threads.emplace_back([&, t] { workers[t]->run(per_thread); });
  // The watchdog: a run that hangs says where each thread is, and stops.
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    long last_total = -1;
    auto last_progress = std::chrono::steady_clock::now();
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      long total = 0;
      for (const auto& work : workers)
        total += work->done();
      const auto now = std::chrono::steady_clock::now();
      if (total != last_total) {
        last_total = total;
        last_progress = now;
      } else if (now - last_progress > std::chrono::seconds(settings.stall_seconds)) {
        std::fprintf(stderr,
                     "torture: FAILED: no progress for %d s; the threads:\n",
                     settings.stall_seconds);
        for (int t = 0; t < settings.threads; ++t)
          std::fprintf(stderr,
                       "torture:   thread %d: %ld operations, now %s\n",
                       t,
                       workers[t]->done(),
                       workers[t]->phase());
        std::fflush(stderr);
        std::printf("torture: FAILED (hung)\n");
        std::fflush(stdout);
        std::_Exit(3);
      }
    }
  });
  for (std::thread& thread : threads)
    thread.join();
  finished.store(true);
  watchdog.join();
  unsigned long long device_mismatches[kMaxThreads] = {};
  unsigned long long first_address[kMaxThreads] = {};
  unsigned int first_value[kMaxThreads] = {};
  // Each device has its own counters; a thread's are on its device, the others stay 0.
  for (int device = 0; device < settings.devices; ++device) {
    unsigned long long mismatches[kMaxThreads] = {};
    unsigned long long addresses[kMaxThreads] = {};
    unsigned int values[kMaxThreads] = {};
    check(cudaSetDevice(device), "cudaSetDevice", -1);
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize", -1);
    check(cudaMemcpyFromSymbol(mismatches, g_mismatches, sizeof mismatches), "read counters", -1);
    check(cudaMemcpyFromSymbol(addresses, g_first_address, sizeof addresses), "read counters", -1);
    check(cudaMemcpyFromSymbol(values, g_first_value, sizeof values), "read counters", -1);
    for (int t = 0; t < kMaxThreads; ++t) {
      device_mismatches[t] += mismatches[t];
      if (first_address[t] == 0) {
        first_address[t] = addresses[t];
        first_value[t] = values[t];
      }
    }
  }
  unsigned long long mismatched = totals.host_mismatches.load();
  for (int t = 0; t < settings.threads; ++t) {
    mismatched += device_mismatches[t];
    if (device_mismatches[t] != 0) {
      std::fprintf(
          stderr,
          "torture: thread %d: %llu wrong words on the device, first at 0x%llx holding 0x%08x\n",
          t,
          device_mismatches[t],
          first_address[t],
          first_value[t]);
    }
  }
  std::printf(
      "torture: %s, %d threads on %d devices, seed %u, %llu operations, %.1f GiB served: "
      "mismatched words %llu, "
      "cuda errors %llu, out of memory %llu, misaligned %llu, overlaps %llu, injected %llu\n",
      mode.c_str(),
      settings.threads,
      settings.devices,
      settings.seed,
      totals.operations.load(),
      static_cast<double>(totals.served_bytes.load()) / (1 << 30),
      mismatched,
      totals.cuda_errors.load(),
      totals.out_of_memory.load(),
      totals.misaligned.load(),
      totals.overlaps.load(),
      totals.injected.load());
  const bool corrupted = mismatched != 0 || totals.overlaps != 0;
  if (settings.inject && totals.injected == 0) {
    std::printf("torture: FAILED: --inject made no injection (too few operations?)\n");
    return 1;
  }
  if (settings.expect_corruption || settings.inject) {
    std::printf(corrupted ? "torture: corruption detected, as expected\n"
                          : "torture: FAILED: corruption was expected and not seen\n");
    return corrupted ? 0 : 1;
  }
  const bool clean =
      !corrupted && totals.cuda_errors == 0 && totals.out_of_memory == 0 && totals.misaligned == 0;
  std::printf(clean ? "torture: clean\n" : "torture: FAILED\n");
  return clean ? 0 : 1;
}
