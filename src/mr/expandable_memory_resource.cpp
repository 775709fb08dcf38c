#include "gpumem/mr/expandable_memory_resource.hpp"

#include <cuda.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/byte_size.hpp"
#include "driver/driver_for_resources.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/detail/cuda_calls.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "gpumem/error.hpp"

namespace gpumem::mr {
namespace {

using clock_type = std::chrono::steady_clock;

/// The driver's name for `status`, for messages.
std::string name_of(const driver::driver_entry_points& driver, CUresult status) {
  const char* name = nullptr;
  if (driver.get_error_name != nullptr && driver.get_error_name(status, &name) == CUDA_SUCCESS &&
      name != nullptr)
    return name;
  return "CUresult " + std::to_string(static_cast<int>(status));
}

/// Throws gpumem::cuda_error naming `what` unless `status` is CUDA_SUCCESS.
void check(const driver::driver_entry_points& driver, CUresult status, const char* what) {
  if (status != CUDA_SUCCESS)
    throw cuda_error{std::string{"expandable_memory_resource: "} + what +
                     " failed: " + name_of(driver, status)};
}

/// The driver table, when it has every virtual memory entry point.
const driver::driver_entry_points* virtual_memory_driver() noexcept {
  const driver::driver_entry_points* driver = gpumem::detail::driver_for_resources();
  if (driver == nullptr || driver->mem_get_allocation_granularity == nullptr ||
      driver->mem_address_reserve == nullptr || driver->mem_address_free == nullptr ||
      driver->mem_create == nullptr || driver->mem_release == nullptr ||
      driver->mem_map == nullptr || driver->mem_unmap == nullptr ||
      driver->mem_set_access == nullptr || driver->device_get_attribute == nullptr)
    return nullptr;
  return driver;
}

CUmemAllocationProp device_memory_on(int device) {
  CUmemAllocationProp properties{};
  properties.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  properties.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  properties.location.id = device;
  return properties;
}

}  // namespace

struct expandable_memory_resource::state_type {
  state_type(const driver::driver_entry_points& driver_table,
             int device_id,
             std::size_t chunk_bytes)
      : driver{driver_table}, device{device_id}, chunk{chunk_bytes} {}

  /// Physical memory mapped at an address: one cuMemCreate handle of `size` bytes.
  struct piece {
    CUmemGenericAllocationHandle handle;
    std::size_t size;
  };
  /// An allocation: `size` bytes handed out, `mapped` bytes mapped from its start (more after
  /// a shrink that cut into a piece, which stays mapped until the allocation grows into it).
  struct allocation {
    std::size_t size;
    std::size_t mapped;
  };

  const driver::driver_entry_points& driver;
  int device;
  std::size_t chunk;
  CUdeviceptr base = 0;
  std::size_t reservation = 0;

  mutable std::mutex mutex;
  std::map<std::uintptr_t, std::size_t> free_ranges;        ///< unmapped addresses, by start
  std::map<std::uintptr_t, allocation> allocations;         ///< by start
  std::map<std::uintptr_t, piece> pieces;                   ///< mapped physical memory, by address
  std::vector<CUmemAccessDesc> access{read_write(device)};  ///< own device, then peers granted
  mapping_statistics statistics;

  static CUmemAccessDesc read_write(int device_id) {
    CUmemAccessDesc description{};
    description.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    description.location.id = device_id;
    description.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    return description;
  }

  /// The most bytes one piece of an allocation growing to `total` bytes takes: a sixteenth of
  /// it, at least a chunk. Fewer driver calls as memory grows, and a shrink that cuts into a
  /// piece keeps at most that much mapped.
  [[nodiscard]] std::size_t piece_size_for(std::size_t total) const noexcept {
    return std::max(chunk, total / 16 / chunk * chunk);
  }

  /// Takes [address, address + bytes) out of the free ranges; it must lie inside one.
  void take_range(std::uintptr_t address, std::size_t bytes) {
    auto it = std::prev(free_ranges.upper_bound(address));
    const std::uintptr_t start = it->first;
    const std::size_t size = it->second;
    free_ranges.erase(it);
    if (address > start) free_ranges.emplace(start, address - start);
    if (address + bytes < start + size)
      free_ranges.emplace(address + bytes, start + size - address - bytes);
  }

  /// Gives [address, address + bytes) back to the free ranges, merged with its neighbours.
  void give_range(std::uintptr_t address, std::size_t bytes) {
    auto next = free_ranges.lower_bound(address);
    if (next != free_ranges.end() && next->first == address + bytes) {
      bytes += next->second;
      next = free_ranges.erase(next);
    }
    if (next != free_ranges.begin()) {
      auto previous = std::prev(next);
      if (previous->first + previous->second == address) {
        previous->second += bytes;
        return;
      }
    }
    free_ranges.emplace(address, bytes);
  }

  /// Creates and maps pieces of at most `piece_size` over [address, address + bytes), then
  /// grants access; false (nothing left mapped) when the device is out of memory.
  bool map(std::uintptr_t address, std::size_t bytes, std::size_t piece_size) {
    const auto started = clock_type::now();
    const CUmemAllocationProp properties = device_memory_on(device);
    std::size_t mapped = 0;
    CUresult status = CUDA_SUCCESS;
    while (mapped < bytes) {
      const std::size_t size = std::min(piece_size, bytes - mapped);
      CUmemGenericAllocationHandle handle{};
      status = driver.mem_create(&handle, size, &properties, 0);
      if (status != CUDA_SUCCESS) break;
      status = driver.mem_map(address + mapped, size, 0, handle, 0);
      if (status != CUDA_SUCCESS) {
        (void)driver.mem_release(handle);
        break;
      }
      pieces.emplace(address + mapped, piece{handle, size});
      mapped += size;
      statistics.mapped_bytes += size;
      ++statistics.map_calls;
    }
    if (status == CUDA_SUCCESS)
      status = driver.mem_set_access(address, bytes, access.data(), access.size());
    statistics.map_time += clock_type::now() - started;
    if (status != CUDA_SUCCESS) {
      unmap(address, mapped);
      if (status == CUDA_ERROR_OUT_OF_MEMORY) return false;
      check(driver, status, "mapping device memory");
    }
    statistics.peak_mapped_bytes = std::max(statistics.peak_mapped_bytes, statistics.mapped_bytes);
    return true;
  }

  /// Unmaps and releases the pieces that start in [address, address + bytes). Failures are
  /// reported, not thrown: the range is forgotten either way.
  void unmap(std::uintptr_t address, std::size_t bytes) noexcept {
    const auto started = clock_type::now();
    for (auto it = pieces.lower_bound(address); it != pieces.end() && it->first < address + bytes;
         it = pieces.erase(it)) {
      GPUMEM_ASSERT_CUDA_SUCCESS(driver.mem_unmap(it->first, it->second.size) == CUDA_SUCCESS
                                     ? cudaSuccess
                                     : cudaErrorUnknown);
      GPUMEM_ASSERT_CUDA_SUCCESS(
          driver.mem_release(it->second.handle) == CUDA_SUCCESS ? cudaSuccess : cudaErrorUnknown);
      ++statistics.unmap_calls;
      statistics.mapped_bytes -= it->second.size;
    }
    statistics.unmap_time += clock_type::now() - started;
  }

  /// Where the mapping of [start, end) can end at or after `new_end` without cutting a piece:
  /// the start of the first piece that begins at or after `new_end`, or `end`.
  [[nodiscard]] std::uintptr_t unmappable_from(std::uintptr_t new_end,
                                               std::uintptr_t end) const noexcept {
    const auto first_after = pieces.lower_bound(new_end);
    return first_after != pieces.end() && first_after->first < end ? first_after->first : end;
  }
};

bool expandable_memory_resource::is_supported(cuda_device_id device) noexcept {
  const driver::driver_entry_points* driver = virtual_memory_driver();
  int supported = 0;
  return driver != nullptr &&
         driver->device_get_attribute(&supported,
                                      CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED,
                                      device.value()) == CUDA_SUCCESS &&
         supported != 0;
}

expandable_memory_resource::expandable_memory_resource(std::size_t reservation,
                                                       std::size_t chunk_size) {
  const cuda_device_id device = get_current_cuda_device();
  GPUMEM_EXPECTS(is_supported(device),
                 "expandable_memory_resource: device " + std::to_string(device.value()) +
                     " or its driver lacks CUDA's virtual memory management "
                     "(CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, cuMemCreate)");
  const driver::driver_entry_points& driver = *virtual_memory_driver();
  // The device's memory, which also makes its primary context current for the driver calls.
  std::size_t free = 0;
  std::size_t total = 0;
  GPUMEM_CUDA_TRY(gpumem::detail::cuda_calls::memory_info(&free, &total));
  const CUmemAllocationProp properties = device_memory_on(device.value());
  std::size_t granularity = 0;
  check(driver,
        driver.mem_get_allocation_granularity(
            &granularity, &properties, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED),
        "cuMemGetAllocationGranularity");
  GPUMEM_EXPECTS(granularity != 0 && is_pow2(granularity),
                 "expandable_memory_resource: the driver reports an allocation granularity of " +
                     std::to_string(granularity) + " bytes");
  const std::size_t chunk = align_up(std::max(chunk_size, granularity), granularity);
  const std::size_t reserved = align_up(reservation == 0 ? 2 * total : reservation, chunk);
  auto state = std::make_unique<state_type>(driver, device.value(), chunk);
  check(driver,
        driver.mem_address_reserve(&state->base, reserved, chunk, 0, 0),
        "reserving virtual addresses (cuMemAddressReserve)");
  state->reservation = reserved;
  state->free_ranges.emplace(state->base, reserved);
  state->statistics.reserved_bytes = reserved;
  state_ = std::move(state);
}

expandable_memory_resource::~expandable_memory_resource() {
  GPUMEM_ASSERT_CUDA_SUCCESS(gpumem::detail::cuda_calls::device_synchronize());
  std::lock_guard lock(state_->mutex);
  for (const auto& [address, allocation] : state_->allocations)
    state_->unmap(address, allocation.mapped);
  GPUMEM_ASSERT_CUDA_SUCCESS(state_->driver.mem_address_free(state_->base, state_->reservation) ==
                                     CUDA_SUCCESS
                                 ? cudaSuccess
                                 : cudaErrorUnknown);
}

void expandable_memory_resource::grant_access(cuda_device_id device) {
  std::lock_guard lock(state_->mutex);
  for (const CUmemAccessDesc& granted : state_->access) {
    if (granted.location.id == device.value()) return;
  }
  const CUmemAccessDesc access = state_type::read_write(device.value());
  for (const auto& [address, allocation] : state_->allocations) {
    check(state_->driver,
          state_->driver.mem_set_access(address, allocation.mapped, &access, 1),
          "granting a peer device access (cuMemSetAccess)");
  }
  state_->access.push_back(access);
}

void expandable_memory_resource::revoke_access(cuda_device_id device) {
  std::lock_guard lock(state_->mutex);
  const auto granted =
      std::find_if(state_->access.begin(), state_->access.end(), [&](const CUmemAccessDesc& a) {
        return a.location.id == device.value();
      });
  if (granted == state_->access.end() || device.value() == state_->device) return;
  CUmemAccessDesc none = *granted;
  none.flags = CU_MEM_ACCESS_FLAGS_PROT_NONE;
  // Forgotten first: should the driver refuse part way, a later grant_access grants all again.
  state_->access.erase(granted);
  for (const auto& [address, allocation] : state_->allocations) {
    check(state_->driver,
          state_->driver.mem_set_access(address, allocation.mapped, &none, 1),
          "revoking a peer device's access (cuMemSetAccess)");
  }
}

void* expandable_memory_resource::reservation_start() const noexcept {
  return reinterpret_cast<void*>(state_->base);
}

std::size_t expandable_memory_resource::chunk_size() const noexcept {
  return state_->chunk;
}

expandable_memory_resource::mapping_statistics expandable_memory_resource::statistics() const {
  std::lock_guard lock(state_->mutex);
  return state_->statistics;
}

void* expandable_memory_resource::do_allocate(std::size_t bytes, cuda_stream_view /*stream*/) {
  if (bytes == 0) return nullptr;
  const std::size_t size = align_up(bytes, state_->chunk);
  std::lock_guard lock(state_->mutex);
  // The lowest free addresses that fit: allocations pack at the reservation's start.
  auto range = state_->free_ranges.begin();
  while (range != state_->free_ranges.end() && range->second < size)
    ++range;
  if (range == state_->free_ranges.end()) {
    throw out_of_memory{"expandable_memory_resource: no " + core::format_bytes(size) +
                        " of addresses left in its reservation of " +
                        core::format_bytes(state_->reservation)};
  }
  const std::uintptr_t address = range->first;
  state_->take_range(address, size);
  bool mapped = false;
  try {
    mapped = state_->map(address, size, state_->piece_size_for(size));
  } catch (...) {
    state_->give_range(address, size);
    throw;
  }
  if (!mapped) {
    state_->give_range(address, size);
    throw out_of_memory{"expandable_memory_resource: the device has no " +
                        core::format_bytes(size) + " of memory to map (" +
                        core::format_bytes(state_->statistics.mapped_bytes) + " mapped)"};
  }
  state_->allocations.emplace(address, state_type::allocation{size, size});
  return reinterpret_cast<void*>(address);
}

void expandable_memory_resource::do_deallocate(void* ptr,
                                               std::size_t /*bytes*/,
                                               cuda_stream_view /*stream*/) noexcept {
  if (ptr == nullptr) return;
  // Work on any stream may still use the memory: wait for it, as cudaFree does.
  GPUMEM_ASSERT_CUDA_SUCCESS(gpumem::detail::cuda_calls::device_synchronize());
  std::lock_guard lock(state_->mutex);
  const auto it = state_->allocations.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == state_->allocations.end()) {
    std::fprintf(stderr,
                 "gpumem: expandable_memory_resource: deallocate of %p, which it did not "
                 "allocate; ignored\n",
                 ptr);
    return;
  }
  state_->unmap(it->first, it->second.mapped);
  state_->give_range(it->first, it->second.mapped);
  state_->allocations.erase(it);
}

bool expandable_memory_resource::grow_in_place(void* ptr, std::size_t size, std::size_t more) {
  if (more == 0) return true;
  std::lock_guard lock(state_->mutex);
  const auto found = state_->allocations.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (found == state_->allocations.end() || found->second.size != size || more % state_->chunk != 0)
    return false;
  state_type::allocation& allocation = found->second;
  const std::size_t new_size = size + more;
  if (new_size <= allocation.mapped) {  // mapped already, kept by a shrink
    allocation.size = new_size;
    return true;
  }
  const std::uintptr_t end = found->first + allocation.mapped;
  const std::size_t needed = new_size - allocation.mapped;
  const auto after = state_->free_ranges.find(end);
  if (after == state_->free_ranges.end() || after->second < needed) return false;
  state_->take_range(end, needed);
  bool mapped = false;
  try {
    mapped = state_->map(end, needed, state_->piece_size_for(new_size));
  } catch (...) {
    state_->give_range(end, needed);
    throw;
  }
  if (!mapped) {
    state_->give_range(end, needed);
    return false;
  }
  allocation.mapped += needed;
  allocation.size = new_size;
  return true;
}

void expandable_memory_resource::shrink_in_place(void* ptr, std::size_t size, std::size_t less) {
  std::lock_guard lock(state_->mutex);
  const auto found = state_->allocations.find(reinterpret_cast<std::uintptr_t>(ptr));
  GPUMEM_EXPECTS(found != state_->allocations.end() && found->second.size == size &&
                     less % state_->chunk == 0 && less < size,
                 "expandable_memory_resource: shrink_in_place of " + std::to_string(less) +
                     " bytes of an allocation it does not hold at that size");
  state_type::allocation& allocation = found->second;
  allocation.size = size - less;
  // Whole pieces after the new end are unmapped; one the new end cuts into stays mapped.
  const std::uintptr_t end = found->first + allocation.mapped;
  const std::uintptr_t cut = state_->unmappable_from(found->first + allocation.size, end);
  if (cut < end) {
    state_->unmap(cut, end - cut);
    state_->give_range(cut, end - cut);
    allocation.mapped = cut - found->first;
  }
}

bool expandable_memory_resource::do_is_equal(const device_memory_resource& other) const noexcept {
  return this == &other;
}

}  // namespace gpumem::mr
