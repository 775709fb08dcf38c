#include "preload/driver_sources.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gpumem/error.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/mr/expandable_memory_resource.hpp"
#include "preload/layer_report.hpp"
#include "preload/real_driver.hpp"

namespace gpumem::preload {
namespace {

const driver::driver_entry_points& cu() {
  return real_driver().legacy;
}

/// Every allocation the sources hold, with its device, so a pass-through free can refuse to
/// free one; a device's entries go when its context is reset (the memory went with it, and
/// CUDA may hand the same addresses out again).
class stack_memory_set {
 public:
  void add(const void* pointer, int device) {
    std::lock_guard lock(mutex_);
    pointers_[pointer] = device;
  }
  void remove(const void* pointer) {
    std::lock_guard lock(mutex_);
    pointers_.erase(pointer);
  }
  /// A slab's start, or any address in an expandable source's reservation.
  bool contains(const void* pointer) {
    const auto address = reinterpret_cast<std::uintptr_t>(pointer);
    std::lock_guard lock(mutex_);
    return pointers_.contains(pointer) ||
           std::any_of(reservations_.begin(), reservations_.end(), [address](const auto& range) {
             return address >= range.start && address - range.start < range.size;
           });
  }
  void forget_device(int device) {
    std::lock_guard lock(mutex_);
    std::erase_if(pointers_, [device](const auto& entry) { return entry.second == device; });
    std::erase_if(reservations_, [device](const auto& entry) { return entry.device == device; });
  }
  void add_reservation(const void* start, std::size_t size, int device) {
    std::lock_guard lock(mutex_);
    reservations_.push_back({reinterpret_cast<std::uintptr_t>(start), size, device});
  }

 private:
  struct reservation {
    std::uintptr_t start;
    std::size_t size;
    int device;
  };
  std::mutex mutex_;
  std::unordered_map<const void*, int> pointers_;
  std::vector<reservation> reservations_;  ///< one per expandable source: a handful
};

stack_memory_set& stack_memory() {
  static auto* set = new stack_memory_set();  // never destroyed: used until the process ends
  return *set;
}

[[noreturn]] void throw_allocation_failure(CUresult status, std::size_t bytes, const char* what) {
  const char* name = nullptr;
  if (cu().get_error_name != nullptr) (void)cu().get_error_name(status, &name);
  const std::string message =
      std::string{what} + " of " + std::to_string(bytes) +
      " bytes failed: " + (name != nullptr ? name : "CUDA error " + std::to_string(status));
  if (status == CUDA_ERROR_OUT_OF_MEMORY) throw gpumem::out_of_memory{message};
  throw gpumem::bad_alloc{message};
}

/// cuMemAlloc / cuMemFree.
class driver_device_memory final : public mr::device_memory_resource {
 public:
  explicit driver_device_memory(int device) noexcept : device_{device} {}

 private:
  int device_;
  void* do_allocate(std::size_t bytes, cuda_stream_view) override {
    CUdeviceptr pointer = 0;
    if (const CUresult status = cu().mem_alloc(&pointer, bytes); status != CUDA_SUCCESS) {
      throw_allocation_failure(status, bytes, "cuMemAlloc");
    }
    stack_memory().add(reinterpret_cast<void*>(pointer), device_);
    return reinterpret_cast<void*>(pointer);
  }
  void do_deallocate(void* ptr, std::size_t, cuda_stream_view) noexcept override {
    stack_memory().remove(ptr);
    (void)cu().mem_free(reinterpret_cast<CUdeviceptr>(ptr));
  }
};

/// cuMemAllocManaged / cuMemFree.
class driver_managed_memory final : public mr::device_memory_resource {
 public:
  explicit driver_managed_memory(int device) noexcept : device_{device} {}

 private:
  int device_;
  void* do_allocate(std::size_t bytes, cuda_stream_view) override {
    CUdeviceptr pointer = 0;
    if (const CUresult status = cu().mem_alloc_managed(&pointer, bytes, CU_MEM_ATTACH_GLOBAL);
        status != CUDA_SUCCESS) {
      throw_allocation_failure(status, bytes, "cuMemAllocManaged");
    }
    stack_memory().add(reinterpret_cast<void*>(pointer), device_);
    return reinterpret_cast<void*>(pointer);
  }
  void do_deallocate(void* ptr, std::size_t, cuda_stream_view) noexcept override {
    stack_memory().remove(ptr);
    (void)cu().mem_free(reinterpret_cast<CUdeviceptr>(ptr));
  }
};

/// The driver's stream-ordered allocator on a pool of its own (cuMemPoolCreate).
class driver_async_pool final : public mr::device_memory_resource, public reported_layer {
 public:
  driver_async_pool(int device, std::size_t initial_size, std::size_t release_threshold)
      : device_{device} {
    if (cu().mem_pool_create == nullptr || cu().mem_pool_destroy == nullptr ||
        cu().mem_alloc_from_pool_async == nullptr || cu().mem_free_async == nullptr ||
        cu().mem_pool_set_attribute == nullptr) {
      throw gpumem::logic_error{
          "gpumem: the cuda_async source needs the driver's memory pools (cuMemPoolCreate, "
          "cuMemAllocFromPoolAsync, CUDA 11.2), which this driver lacks"};
    }
    CUmemPoolProps properties{};
    properties.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
    properties.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    properties.location.id = device;
    if (const CUresult status = cu().mem_pool_create(&pool_, &properties); status != CUDA_SUCCESS) {
      throw_allocation_failure(status, 0, "cuMemPoolCreate");
    }
    cuuint64_t threshold = release_threshold;
    (void)cu().mem_pool_set_attribute(pool_, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &threshold);
    if (initial_size > 0) {
      // Reserve the initial size: allocate it once and give it back to the pool.
      void* block = do_allocate(initial_size, cuda_stream_view{});
      do_deallocate(block, initial_size, cuda_stream_view{});
      (void)cu().stream_synchronize(nullptr);
    }
  }
  ~driver_async_pool() override { (void)cu().mem_pool_destroy(pool_); }
  driver_async_pool(const driver_async_pool&) = delete;
  driver_async_pool& operator=(const driver_async_pool&) = delete;
  driver_async_pool(driver_async_pool&&) = delete;
  driver_async_pool& operator=(driver_async_pool&&) = delete;

  /// The driver pool's reserve and use, now and at their highest.
  [[nodiscard]] core::report_node report() const override {
    core::report_node node;
    if (cu().mem_pool_get_attribute == nullptr) return node;
    for (const auto& [name, attribute] :
         {std::pair{"reserved_bytes", CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT},
          std::pair{"peak_reserved_bytes", CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH},
          std::pair{"in_use_bytes", CU_MEMPOOL_ATTR_USED_MEM_CURRENT},
          std::pair{"peak_in_use_bytes", CU_MEMPOOL_ATTR_USED_MEM_HIGH}}) {
      cuuint64_t value = 0;
      if (cu().mem_pool_get_attribute(pool_, attribute, &value) == CUDA_SUCCESS)
        node.set(name, static_cast<std::uint64_t>(value));
    }
    return node;
  }

 private:
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override {
    CUdeviceptr pointer = 0;
    if (const CUresult status =
            cu().mem_alloc_from_pool_async(&pointer, bytes, pool_, stream.value());
        status != CUDA_SUCCESS) {
      throw_allocation_failure(status, bytes, "cuMemAllocFromPoolAsync");
    }
    // A synchronous request (the shim keys those by the legacy stream) must get memory that is
    // idle for every stream, but the driver's pool may hand out a block freed on another
    // stream and only make the legacy stream wait for that stream's work: wait for it here.
    if (stream.value() == cudaStreamLegacy) {
      if (const CUresult status = cu().stream_synchronize(CU_STREAM_LEGACY);
          status != CUDA_SUCCESS) {
        (void)cu().mem_free_async(pointer, CU_STREAM_LEGACY);
        throw_allocation_failure(
            status, bytes, "cuStreamSynchronize after cuMemAllocFromPoolAsync");
      }
    }
    stack_memory().add(reinterpret_cast<void*>(pointer), device_);
    return reinterpret_cast<void*>(pointer);
  }
  void do_deallocate(void* ptr, std::size_t, cuda_stream_view stream) noexcept override {
    stack_memory().remove(ptr);
    (void)cu().mem_free_async(reinterpret_cast<CUdeviceptr>(ptr), stream.value());
  }

  int device_;
  CUmemoryPool pool_ = nullptr;
};

std::size_t share_of(const config::resolved_layer& layer,
                     std::string_view key,
                     std::uint64_t total_bytes,
                     std::size_t fallback) {
  for (const auto& [spec, value] : layer.options) {
    if (spec->key == key && value) {
      const auto& size = std::get<core::byte_size>(value->value);
      if (size.bytes || size.percent)
        return static_cast<std::size_t>(config::bytes_of(size, total_bytes));
    }
  }
  return fallback;
}

}  // namespace

void forget_stack_memory(int device) noexcept {
  try {
    stack_memory().forget_device(device);
  } catch (...) {
    // Nothing to forget without the set.
  }
}

bool is_stack_memory(const void* pointer) noexcept {
  try {
    return stack_memory().contains(pointer);
  } catch (...) {
    return false;
  }
}

config::source_factory driver_sources(int device, std::uint64_t device_total_bytes) {
  return [device, device_total_bytes](
             const config::resolved_layer& layer) -> std::unique_ptr<mr::device_memory_resource> {
    if (layer.name == "cuda") return std::make_unique<driver_device_memory>(device);
    if (layer.name == "managed") return std::make_unique<driver_managed_memory>(device);
    if (layer.name == "expandable") {
      if (!mr::expandable_memory_resource::is_supported(cuda_device_id{device})) {
        std::fprintf(stderr,
                     "gpumem: device %d or its driver lacks CUDA's virtual memory management "
                     "(CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, cuMemCreate): "
                     "the expandable source takes cudaMalloc slabs instead\n",
                     device);
        return std::make_unique<driver_device_memory>(device);
      }
      auto expandable = std::make_unique<mr::expandable_memory_resource>(
          share_of(layer, "reservation", device_total_bytes, 2 * device_total_bytes),
          share_of(layer, "chunk_size", device_total_bytes, 0));
      // The driver reports the whole reservation as the range of any address in it: all of it
      // is the shim's memory (the IPC refusal, a second free of a block).
      stack_memory().add_reservation(
          expandable->reservation_start(), expandable->statistics().reserved_bytes, device);
      return expandable;
    }
    if (layer.name == "cuda_async") {
      return std::make_unique<driver_async_pool>(
          device,
          share_of(layer, "initial_size", device_total_bytes, 0),
          share_of(layer, "release_threshold", device_total_bytes, device_total_bytes));
    }
    throw gpumem::logic_error{"gpumem: " + layer.name + " is not a memory source"};
  };
}

}  // namespace gpumem::preload
