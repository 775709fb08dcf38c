#pragma once
// Upstream resources for the adaptor tests: a host-memory resource that records every call and
// fails on request, and a managed-memory resource (cudaMallocManaged) for prefetching.
// (The sub-allocator tests' upstream over real device memory is recording_resource.hpp.)

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "gpumem/aligned.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::test {

/// One call to a recording resource.
struct recorded_call {
  void* ptr;
  std::size_t bytes;
  cudaStream_t stream;
};

/**
 * @brief An upstream on host memory that records allocations and frees, can fail the next
 * allocations with gpumem::out_of_memory, and hands out addresses `offset` bytes past a
 * 64 KiB boundary (to test alignment). It also counts calls that overlap in time (for the
 * thread-safe adaptor). Equal only to itself. Frees of unknown pointers are recorded as such.
 */
class recording_host_resource final : public gpumem::mr::device_memory_resource {
 public:
  static constexpr std::size_t block_alignment = std::size_t{64} << 10;

  explicit recording_host_resource(std::size_t offset = 0) : offset_{offset} {}
  ~recording_host_resource() override {
    for (auto& [ptr, block] : blocks_)
      std::free(block.first);
  }
  recording_host_resource(const recording_host_resource&) = delete;
  recording_host_resource& operator=(const recording_host_resource&) = delete;

  /// The next `count` allocations throw gpumem::out_of_memory.
  void fail_next(int count) { failures_left_ = count; }

  /// The next `count` allocations throw gpumem::bad_alloc (not out_of_memory).
  void fail_next_with_bad_alloc(int count) { bad_alloc_left_ = count; }

  /// When on, each call stays inside for a moment, so that unserialized calls overlap.
  void linger_inside(bool on) { linger_ = on; }

  [[nodiscard]] std::vector<recorded_call> allocations() const {
    std::lock_guard lock{mutex_};
    return allocations_;
  }
  [[nodiscard]] std::vector<recorded_call> deallocations() const {
    std::lock_guard lock{mutex_};
    return deallocations_;
  }
  [[nodiscard]] std::size_t allocate_calls() const { return allocate_calls_.load(); }
  [[nodiscard]] std::size_t outstanding() const {
    std::lock_guard lock{mutex_};
    return blocks_.size();
  }
  [[nodiscard]] std::size_t unknown_frees() const { return unknown_frees_.load(); }
  [[nodiscard]] std::size_t overlapping_calls() const { return overlapping_calls_.load(); }

 private:
  void enter() {
    if (inside_.fetch_add(1) != 0) ++overlapping_calls_;
    if (linger_) std::this_thread::yield();
  }
  void leave() { inside_.fetch_sub(1); }

  void* do_allocate(std::size_t bytes, gpumem::cuda_stream_view stream) override {
    enter();
    ++allocate_calls_;
    if (failures_left_ > 0) {
      --failures_left_;
      leave();
      throw gpumem::out_of_memory{"recording_host_resource: injected out of memory"};
    }
    if (bad_alloc_left_ > 0) {
      --bad_alloc_left_;
      leave();
      throw gpumem::bad_alloc{"recording_host_resource: injected failure"};
    }
    void* block =
        std::aligned_alloc(block_alignment, gpumem::align_up(bytes + offset_ + 1, block_alignment));
    if (block == nullptr) {
      leave();
      throw gpumem::out_of_memory{"recording_host_resource: host memory exhausted"};
    }
    void* ptr = static_cast<char*>(block) + offset_;
    {
      std::lock_guard lock{mutex_};
      blocks_.emplace(ptr, std::make_pair(block, bytes));
      allocations_.push_back({ptr, bytes, stream.value()});
    }
    leave();
    return ptr;
  }

  void do_deallocate(void* ptr,
                     std::size_t bytes,
                     gpumem::cuda_stream_view stream) noexcept override {
    enter();
    {
      std::lock_guard lock{mutex_};
      deallocations_.push_back({ptr, bytes, stream.value()});
      const auto found = blocks_.find(ptr);
      if (found == blocks_.end()) {
        ++unknown_frees_;
      } else {
        std::free(found->second.first);
        blocks_.erase(found);
      }
    }
    leave();
  }

  std::size_t offset_;
  std::atomic<int> failures_left_{0};
  std::atomic<int> bad_alloc_left_{0};
  std::atomic<bool> linger_{false};
  std::atomic<int> inside_{0};
  std::atomic<std::size_t> overlapping_calls_{0};
  std::atomic<std::size_t> allocate_calls_{0};
  std::atomic<std::size_t> unknown_frees_{0};
  mutable std::mutex mutex_;
  std::map<void*, std::pair<void*, std::size_t>> blocks_;  ///< handed-out pointer -> {block, bytes}
  std::vector<recorded_call> allocations_;
  std::vector<recorded_call> deallocations_;
};

/// Managed memory from cudaMallocManaged, for the prefetch adaptor.
class managed_test_resource final : public gpumem::mr::device_memory_resource {
 private:
  void* do_allocate(std::size_t bytes, gpumem::cuda_stream_view /*stream*/) override {
    void* ptr = nullptr;
    if (cudaMallocManaged(&ptr, bytes) != cudaSuccess) {
      (void)cudaGetLastError();
      throw gpumem::out_of_memory{"managed_test_resource: cudaMallocManaged failed"};
    }
    return ptr;
  }
  void do_deallocate(void* ptr,
                     std::size_t /*bytes*/,
                     gpumem::cuda_stream_view /*stream*/) noexcept override {
    (void)cudaFree(ptr);
  }
};

/// A request no device has: 1 PiB (cudaMalloc answers cudaErrorMemoryAllocation).
inline constexpr std::size_t more_than_any_device = std::size_t{1} << 50;

}  // namespace gpumem::test
