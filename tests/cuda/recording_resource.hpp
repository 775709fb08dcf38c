#pragma once
// A device-memory upstream for the sub-allocator tests (fixed-size, binning) that records what
// it hands out, so tests can see which chunks were taken and where a block came from.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::test {

/**
 * @brief A resource over cuda_memory_resource (cudaMalloc) that records its live allocations,
 * their sizes and the number of allocations and frees. It throws gpumem::out_of_memory beyond
 * `limit` bytes outstanding, and fails the running test on a free of an unknown pointer or
 * with another size than allocated.
 */
class recording_resource final : public gpumem::mr::device_memory_resource {
 public:
  explicit recording_resource(std::size_t limit = std::numeric_limits<std::size_t>::max())
      : limit_{limit} {}

  std::size_t allocations() const {
    std::lock_guard lock(mutex_);
    return allocations_;
  }
  std::size_t deallocations() const {
    std::lock_guard lock(mutex_);
    return deallocations_;
  }
  std::vector<std::size_t> allocation_sizes() const {
    std::lock_guard lock(mutex_);
    return sizes_;
  }
  std::size_t outstanding_bytes() const {
    std::lock_guard lock(mutex_);
    return in_use_;
  }
  /// The live allocation that holds `ptr`: its base and size ({nullptr, 0} for none).
  std::pair<void*, std::size_t> holder_of(const void* ptr) const {
    std::lock_guard lock(mutex_);
    const auto address = reinterpret_cast<std::uintptr_t>(ptr);
    auto after = live_.upper_bound(address);
    if (after == live_.begin()) return {nullptr, 0};
    --after;
    if (address - after->first >= after->second) return {nullptr, 0};
    return {reinterpret_cast<void*>(after->first), after->second};
  }
  /// The size of the live allocation that holds `ptr` (0 for none).
  std::size_t holder_size(const void* ptr) const { return holder_of(ptr).second; }

 private:
  void* do_allocate(std::size_t bytes, gpumem::cuda_stream_view stream) override {
    std::lock_guard lock(mutex_);
    if (bytes > limit_ - in_use_) {
      throw gpumem::out_of_memory{"recording_resource: over the limit"};
    }
    void* ptr = cuda_.allocate(bytes, stream);
    live_[reinterpret_cast<std::uintptr_t>(ptr)] = bytes;
    in_use_ += bytes;
    ++allocations_;
    sizes_.push_back(bytes);
    return ptr;
  }
  void do_deallocate(void* ptr,
                     std::size_t bytes,
                     gpumem::cuda_stream_view stream) noexcept override {
    std::lock_guard lock(mutex_);
    const auto found = live_.find(reinterpret_cast<std::uintptr_t>(ptr));
    EXPECT_NE(found, live_.end()) << "free of an unknown pointer";
    if (found == live_.end()) return;
    EXPECT_EQ(found->second, bytes) << "free with another size than allocated";
    in_use_ -= found->second;
    live_.erase(found);
    ++deallocations_;
    cuda_.deallocate(ptr, bytes, stream);
  }

  gpumem::mr::cuda_memory_resource cuda_;
  std::size_t limit_;
  mutable std::mutex mutex_;
  std::map<std::uintptr_t, std::size_t> live_;  ///< base address -> bytes
  std::vector<std::size_t> sizes_;
  std::size_t in_use_ = 0;
  std::size_t allocations_ = 0;
  std::size_t deallocations_ = 0;
};

}  // namespace gpumem::test
