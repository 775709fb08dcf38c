#include "simulated_machine.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "../core/byte_size.hpp"

namespace gpumem::sim {
namespace {

constexpr std::size_t kAlignment = 256;                      // CUDA's allocation alignment
constexpr std::size_t kMapThreshold = std::size_t{1} << 20;  // larger blocks come from mmap
constexpr std::uint64_t kDefaultDeviceMemory = std::uint64_t{16} << 30;
constexpr int kMaxDevices = 64;

std::size_t round_up(std::size_t value, std::size_t to) {
  return (value + to - 1) / to * to;
}

void* allocate_host_memory(std::size_t size) {
  if (size >= kMapThreshold) {
    // MAP_NORESERVE: a simulated 16 GiB device must not need 16 GiB of host memory; pages
    // cost only once touched.
    void* mapped = mmap(nullptr,
                        round_up(size, 4096),
                        PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                        -1,
                        0);
    return mapped == MAP_FAILED ? nullptr : mapped;
  }
  return std::aligned_alloc(kAlignment, round_up(std::max<std::size_t>(size, 1), kAlignment));
}

void free_host_memory(void* pointer, std::size_t size) {
  if (size >= kMapThreshold) {
    munmap(pointer, round_up(size, 4096));
  } else {
    std::free(pointer);  // NOLINT(cppcoreguidelines-no-malloc): pairs with aligned_alloc
  }
}

std::optional<std::uint64_t> read_size_variable(const char* name, std::string& error) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  std::string why;
  auto bytes = core::parse_bytes(text, &why);
  if (!bytes) error += std::string(name) + "='" + text + "': " + why + "; ";
  return bytes;
}

std::optional<std::uint64_t> read_count_variable(const char* name, std::string& error) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (*end != '\0' || text[0] == '-') {
    error += std::string(name) + "='" + text + "': expected a whole number; ";
    return std::nullopt;
  }
  return value;
}

/// Flags of inaccessible, reserved address space: no memory behind it until something is
/// mapped there.
constexpr int kReservedAddressSpace = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

/// Reads GPUMEM_SIM_NO_VMM: 1 turns the virtual memory management API off, 0 or unset leaves
/// it on.
bool read_virtual_memory_supported(std::string& error) {
  const char* text = std::getenv("GPUMEM_SIM_NO_VMM");
  if (text == nullptr || *text == '\0' || std::string_view(text) == "0") return true;
  if (std::string_view(text) == "1") return false;
  error += std::string("GPUMEM_SIM_NO_VMM='") + text + "': expected 0 or 1; ";
  return true;
}

/// The host protection that gives what cuMemSetAccess's flags allow.
int host_protection(CUmemAccess_flags access) {
  switch (access) {
    case CU_MEM_ACCESS_FLAGS_PROT_READ:
      return PROT_READ;
    case CU_MEM_ACCESS_FLAGS_PROT_READWRITE:
      return PROT_READ | PROT_WRITE;
    default:
      return PROT_NONE;
  }
}

/// The widest access any device has to a mapping.
CUmemAccess_flags widest_access(const memory_mapping& mapping) {
  CUmemAccess_flags widest = CU_MEM_ACCESS_FLAGS_PROT_NONE;
  for (const auto& [device, access] : mapping.access_by_device) {
    if (access == CU_MEM_ACCESS_FLAGS_PROT_READWRITE ||
        (access == CU_MEM_ACCESS_FLAGS_PROT_READ && widest == CU_MEM_ACCESS_FLAGS_PROT_NONE)) {
      widest = access;
    }
  }
  return widest;
}

/// Whether a mapping's access permits a copy or memset to use it so.
bool permits(const memory_mapping& mapping, range_use use) {
  const CUmemAccess_flags access = widest_access(mapping);
  return use == range_use::read ? access != CU_MEM_ACCESS_FLAGS_PROT_NONE
                                : access == CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
}

/// Adds to a counter and its high-water mark.
void add_used(std::uint64_t& used, std::uint64_t* high, std::uint64_t bytes) {
  used += bytes;
  if (high != nullptr) *high = std::max(*high, used);
}

}  // namespace

double now_ms() {
  static const auto start = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

machine_settings machine_settings::from_environment() {
  machine_settings settings;
  std::uint64_t device_count = 1;
  if (auto count = read_count_variable("GPUMEM_SIM_DEVICES", settings.error)) {
    if (*count > kMaxDevices) {
      settings.error += "GPUMEM_SIM_DEVICES: at most 64 devices; ";
    } else {
      device_count = *count;
    }
  }
  std::vector<std::uint64_t> sizes;
  if (const char* text = std::getenv("GPUMEM_SIM_MEMORY"); text != nullptr && *text != '\0') {
    // One size for every device, or a comma-separated list with one size per device.
    std::string_view rest = text;
    while (true) {
      const auto comma = rest.find(',');
      std::string why;
      const std::string_view item = rest.substr(0, comma);
      if (auto bytes = core::parse_bytes(item, &why)) {
        sizes.push_back(*bytes);
      } else {
        settings.error += "GPUMEM_SIM_MEMORY='" + std::string(item) + "': " + why + "; ";
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  for (std::uint64_t i = 0; i < device_count; ++i) {
    if (sizes.empty()) {
      settings.device_memory.push_back(kDefaultDeviceMemory);
    } else {
      settings.device_memory.push_back(sizes[std::min<std::size_t>(i, sizes.size() - 1)]);
    }
  }
  settings.fail_allocation_number =
      read_count_variable("GPUMEM_SIM_FAIL_ALLOCATION", settings.error).value_or(0);
  settings.fail_above_bytes =
      read_size_variable("GPUMEM_SIM_FAIL_ABOVE", settings.error).value_or(0);
  settings.hidden_bytes = read_size_variable("GPUMEM_SIM_HIDE_MEMORY", settings.error).value_or(0);
  settings.virtual_memory_supported = read_virtual_memory_supported(settings.error);
  return settings;
}

simulated_machine& simulated_machine::instance() {
  // Never destroyed: programs call CUDA from static destructors and atexit handlers.
  static auto* machine = new simulated_machine();
  return *machine;
}

simulated_machine::simulated_machine() : settings_(machine_settings::from_environment()) {
  for (const std::uint64_t size : settings_.device_memory) {
    device_state& device = devices_.emplace_back();
    device.total = size;
  }
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    devices_[i].context = std::make_unique<CUctx_st>(CUctx_st{static_cast<int>(i), i + 1});
    devices_[i].default_pool = std::make_unique<CUmemPoolHandle_st>(
        CUmemPoolHandle_st{static_cast<int>(i), /*is_default=*/true, /*max_size=*/0});
    devices_[i].default_managed_pool = std::make_unique<CUmemPoolHandle_st>(
        CUmemPoolHandle_st{static_cast<int>(i), /*is_default=*/true, /*max_size=*/0});
    devices_[i].current_pool = devices_[i].default_pool.get();
  }
}

CUresult simulated_machine::initialize() {
  if (!settings_.error.empty()) {
    std::fprintf(stderr, "gpumem CUDA simulator: cuInit fails: %s\n", settings_.error.c_str());
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (devices_.empty()) return CUDA_ERROR_NO_DEVICE;
  initialized_ = true;
  return CUDA_SUCCESS;
}

int simulated_machine::device_count() const {
  return static_cast<int>(devices_.size());
}

std::uint64_t simulated_machine::total_memory(int device) const {
  return devices_.at(static_cast<std::size_t>(device)).total;
}

bool simulated_machine::valid_device(int device) const {
  return device >= 0 && device < device_count();
}

CUcontext simulated_machine::primary_context(int device) {
  return devices_.at(static_cast<std::size_t>(device)).context.get();
}

bool simulated_machine::valid_context(CUcontext context) const {
  return std::any_of(devices_.begin(), devices_.end(), [context](const device_state& device) {
    return device.context.get() == context;
  });
}

void simulated_machine::reset_device(int device) {
  std::lock_guard lock(mutex_);
  for (auto it = allocations_.begin(); it != allocations_.end();) {
    if (it->second.device == device && it->second.kind != memory_kind::pinned_host) {
      free_host_memory(reinterpret_cast<void*>(it->first), it->second.size);
      it = allocations_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = mappings_.begin(); it != mappings_.end();) {
    const auto next = std::next(it);
    if (it->second.device == device) remove_mapping(it);
    it = next;
  }
  for (auto it = physical_memory_.begin(); it != physical_memory_.end();) {
    const auto next = std::next(it);
    if (it->second.device == device) free_physical_memory(it);
    it = next;
  }
  device_state& state = devices_.at(static_cast<std::size_t>(device));
  state.used = 0;
  state.default_pool->used = 0;
  state.default_managed_pool->used = 0;
  std::erase_if(streams_,
                [&](const auto& entry) { return entry.second->context == state.context.get(); });
  std::erase_if(events_,
                [&](const auto& entry) { return entry.second->context == state.context.get(); });
  std::erase_if(pools_, [&](const auto& entry) { return entry.second->device == device; });
  state.current_pool = state.default_pool.get();
  // The primary context keeps its handle and starts over as a new context, as CUDA's does.
  state.context->id += devices_.size();
}

CUresult simulated_machine::context_id(CUcontext context, unsigned long long* id) {
  std::lock_guard lock(mutex_);
  for (const device_state& state : devices_) {
    if (state.context.get() == context) {
      *id = state.context->id;
      return CUDA_SUCCESS;
    }
  }
  return CUDA_ERROR_INVALID_CONTEXT;
}

CUresult simulated_machine::injected_failure(std::size_t size) {
  ++allocation_calls_;
  if (settings_.fail_allocation_number != 0 &&
      allocation_calls_ == settings_.fail_allocation_number) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  if (settings_.fail_above_bytes != 0 && size > settings_.fail_above_bytes) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  return CUDA_SUCCESS;
}

CUresult simulated_machine::allocate(
    int device, std::size_t size, memory_kind kind, CUmemoryPool pool, void** out) {
  std::lock_guard lock(mutex_);
  if (const CUresult failure = injected_failure(size); failure != CUDA_SUCCESS) return failure;
  const std::uint64_t accounted = round_up(size, kAlignment);
  const bool uses_device_memory =
      kind == memory_kind::device || kind == memory_kind::stream_ordered;
  device_state* state = nullptr;
  if (kind != memory_kind::pinned_host) state = &devices_.at(static_cast<std::size_t>(device));
  if (uses_device_memory) {
    const std::uint64_t available =
        state->total - std::min(state->total, state->used + settings_.hidden_bytes);
    if (accounted > available) return CUDA_ERROR_OUT_OF_MEMORY;
    if (pool != nullptr && pool->max_size != 0 && pool->used + accounted > pool->max_size) {
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
  }
  void* memory = allocate_host_memory(size);
  if (memory == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  if (uses_device_memory) add_used(state->used, nullptr, accounted);
  if (pool != nullptr) add_used(pool->used, &pool->used_high, accounted);
  allocations_.emplace(reinterpret_cast<std::uintptr_t>(memory),
                       allocation{device, size, kind, pool});
  *out = memory;
  return CUDA_SUCCESS;
}

CUresult simulated_machine::release(const void* pointer,
                                    std::initializer_list<memory_kind> accepted) {
  std::lock_guard lock(mutex_);
  const auto it = allocations_.find(reinterpret_cast<std::uintptr_t>(pointer));
  if (it == allocations_.end()) return CUDA_ERROR_INVALID_VALUE;
  const allocation& block = it->second;
  if (std::find(accepted.begin(), accepted.end(), block.kind) == accepted.end()) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  const std::uint64_t accounted = round_up(block.size, kAlignment);
  if (block.kind == memory_kind::device || block.kind == memory_kind::stream_ordered) {
    devices_.at(static_cast<std::size_t>(block.device)).used -= accounted;
  }
  if (block.pool != nullptr) block.pool->used -= accounted;
  free_host_memory(const_cast<void*>(pointer), block.size);
  allocations_.erase(it);
  return CUDA_SUCCESS;
}

std::map<std::uintptr_t, allocation>::const_iterator simulated_machine::allocation_containing(
    std::uintptr_t address) const {
  auto it = allocations_.upper_bound(address);
  if (it == allocations_.begin()) return allocations_.end();
  --it;
  if (address >= it->first + std::max<std::size_t>(it->second.size, 1)) return allocations_.end();
  return it;
}

std::map<std::uintptr_t, memory_mapping>::iterator simulated_machine::mapping_containing(
    std::uintptr_t address) {
  auto it = mappings_.upper_bound(address);
  if (it == mappings_.begin()) return mappings_.end();
  --it;
  return address < it->first + it->second.size ? it : mappings_.end();
}

std::map<std::uintptr_t, memory_mapping>::const_iterator simulated_machine::mapping_containing(
    std::uintptr_t address) const {
  auto it = mappings_.upper_bound(address);
  if (it == mappings_.begin()) return mappings_.end();
  --it;
  return address < it->first + it->second.size ? it : mappings_.end();
}

std::optional<std::pair<std::uintptr_t, allocation>> simulated_machine::find(
    const void* pointer) const {
  std::lock_guard lock(mutex_);
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  if (const auto it = allocation_containing(address); it != allocations_.end()) return *it;
  if (const auto it = mapping_containing(address); it != mappings_.end()) {
    const memory_mapping& mapping = it->second;
    return std::pair{it->first,
                     allocation{mapping.device, mapping.size, memory_kind::mapped, nullptr}};
  }
  return std::nullopt;
}

bool simulated_machine::covers(const void* pointer, std::size_t size, range_use use) const {
  std::lock_guard lock(mutex_);
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  const std::uintptr_t end = address + size;
  if (const auto it = allocation_containing(address); it != allocations_.end()) {
    return end <= it->first + it->second.size;
  }
  // Mapped memory: mappings that follow each other form one range, as on the GPU.
  auto it = mapping_containing(address);
  std::uintptr_t covered_to = address;
  while (it != mappings_.end() && it->first <= covered_to && permits(it->second, use)) {
    covered_to = it->first + it->second.size;
    if (covered_to >= end) return true;
    ++it;
  }
  return false;
}

CUresult simulated_machine::memory_info(int device,
                                        std::size_t* free_bytes,
                                        std::size_t* total_bytes) const {
  std::lock_guard lock(mutex_);
  const device_state& state = devices_.at(static_cast<std::size_t>(device));
  if (free_bytes != nullptr) {
    *free_bytes = state.total - std::min(state.total, state.used + settings_.hidden_bytes);
  }
  if (total_bytes != nullptr) *total_bytes = state.total;
  return CUDA_SUCCESS;
}

CUresult simulated_machine::reserve_address_range(std::size_t size,
                                                  std::size_t alignment,
                                                  std::uintptr_t hint,
                                                  std::uintptr_t* base) {
  std::lock_guard lock(mutex_);
  alignment = std::max(alignment, kVirtualMemoryGranularity);
  if (hint != 0 && hint % alignment == 0) {
    // Without MAP_FIXED the kernel places the range at the hint only where that is free.
    void* placed =
        mmap(reinterpret_cast<void*>(hint), size, PROT_NONE, kReservedAddressSpace, -1, 0);
    if (placed != MAP_FAILED) {
      if (reinterpret_cast<std::uintptr_t>(placed) == hint) {
        reservations_.emplace(hint, size);
        *base = hint;
        return CUDA_SUCCESS;
      }
      munmap(placed, size);
    }
  }
  // Reserve more than asked, then give back what lies before the aligned start and after
  // the end.
  if (size > std::numeric_limits<std::size_t>::max() - alignment) return CUDA_ERROR_OUT_OF_MEMORY;
  const std::size_t padded = size + alignment;
  void* reserved = mmap(nullptr, padded, PROT_NONE, kReservedAddressSpace, -1, 0);
  if (reserved == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  const auto start = reinterpret_cast<std::uintptr_t>(reserved);
  const std::uintptr_t aligned = round_up(start, alignment);
  if (aligned > start) munmap(reserved, aligned - start);
  if (const std::size_t tail = start + padded - (aligned + size); tail > 0) {
    munmap(reinterpret_cast<void*>(aligned + size), tail);
  }
  reservations_.emplace(aligned, size);
  *base = aligned;
  return CUDA_SUCCESS;
}

CUresult simulated_machine::free_address_range(std::uintptr_t base, std::size_t size) {
  std::lock_guard lock(mutex_);
  const auto reservation = reservations_.find(base);
  if (reservation == reservations_.end() || reservation->second != size) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  const auto first_after_base = mappings_.lower_bound(base);
  if (first_after_base != mappings_.end() && first_after_base->first < base + size) {
    return CUDA_ERROR_INVALID_VALUE;  // still mapped: NVIDIA's driver refuses too
  }
  munmap(reinterpret_cast<void*>(base), size);
  reservations_.erase(reservation);
  return CUDA_SUCCESS;
}

CUresult simulated_machine::create_physical_memory(int device,
                                                   std::size_t size,
                                                   CUmemGenericAllocationHandle* out) {
  std::lock_guard lock(mutex_);
  if (const CUresult failure = injected_failure(size); failure != CUDA_SUCCESS) return failure;
  device_state& state = devices_.at(static_cast<std::size_t>(device));
  const std::uint64_t available =
      state.total - std::min(state.total, state.used + settings_.hidden_bytes);
  if (size > available) return CUDA_ERROR_OUT_OF_MEMORY;
  // A file, so that every mapping of the handle shows the same contents; its pages cost host
  // memory only once touched.
  const int file = memfd_create("gpumem-sim-device-memory", MFD_CLOEXEC);
  if (file < 0) return CUDA_ERROR_OUT_OF_MEMORY;
  if (ftruncate(file, static_cast<off_t>(size)) != 0) {
    close(file);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  add_used(state.used, nullptr, size);
  const CUmemGenericAllocationHandle handle = next_physical_handle_++;
  physical_memory_.emplace(handle, physical_memory{device, size, file});
  *out = handle;
  return CUDA_SUCCESS;
}

CUresult simulated_machine::release_physical_memory(CUmemGenericAllocationHandle handle) {
  std::lock_guard lock(mutex_);
  const auto memory = physical_memory_.find(handle);
  if (memory == physical_memory_.end() || memory->second.handle_released) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  memory->second.handle_released = true;
  if (memory->second.mapping_count == 0) free_physical_memory(memory);
  return CUDA_SUCCESS;
}

CUresult simulated_machine::map_physical_memory(std::uintptr_t address,
                                                std::size_t size,
                                                std::size_t offset,
                                                CUmemGenericAllocationHandle handle) {
  std::lock_guard lock(mutex_);
  const auto memory = physical_memory_.find(handle);
  if (memory == physical_memory_.end() || memory->second.handle_released) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  // NVIDIA's driver maps only whole allocations (cuda.h: the offset "currently must be zero").
  if (offset != 0 || size != memory->second.size) return CUDA_ERROR_NOT_SUPPORTED;
  auto reservation = reservations_.upper_bound(address);
  if (reservation == reservations_.begin()) return CUDA_ERROR_INVALID_VALUE;
  --reservation;
  if (address + size > reservation->first + reservation->second) return CUDA_ERROR_INVALID_VALUE;
  const auto next = mappings_.lower_bound(address);
  if (next != mappings_.end() && next->first < address + size) return CUDA_ERROR_INVALID_VALUE;
  if (mapping_containing(address) != mappings_.end()) return CUDA_ERROR_INVALID_VALUE;
  // Inaccessible until cuMemSetAccess, as on the GPU.
  void* mapped = mmap(reinterpret_cast<void*>(address),
                      size,
                      PROT_NONE,
                      MAP_SHARED | MAP_FIXED,
                      memory->second.file_descriptor,
                      static_cast<off_t>(offset));
  if (mapped == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  ++memory->second.mapping_count;
  mappings_.emplace(address, memory_mapping{size, handle, memory->second.device, {}});
  return CUDA_SUCCESS;
}

std::vector<std::map<std::uintptr_t, memory_mapping>::iterator> simulated_machine::whole_mappings(
    std::uintptr_t address, std::size_t size) {
  std::vector<std::map<std::uintptr_t, memory_mapping>::iterator> found;
  const std::uintptr_t end = address + size;
  auto it = mappings_.find(address);
  std::uintptr_t covered_to = address;
  while (covered_to < end) {
    if (it == mappings_.end() || it->first != covered_to) return {};
    covered_to += it->second.size;
    found.push_back(it++);
  }
  if (covered_to != end) return {};  // the last mapping reaches past the range
  return found;
}

void simulated_machine::remove_mapping(std::map<std::uintptr_t, memory_mapping>::iterator mapping) {
  // Inaccessible address space replaces the mapping, so the reservation stays whole.
  mmap(reinterpret_cast<void*>(mapping->first),
       mapping->second.size,
       PROT_NONE,
       kReservedAddressSpace | MAP_FIXED,
       -1,
       0);
  if (const auto memory = physical_memory_.find(mapping->second.handle);
      memory != physical_memory_.end()) {
    --memory->second.mapping_count;
    if (memory->second.mapping_count == 0 && memory->second.handle_released) {
      free_physical_memory(memory);
    }
  }
  mappings_.erase(mapping);
}

void simulated_machine::free_physical_memory(
    std::unordered_map<CUmemGenericAllocationHandle, physical_memory>::iterator memory) {
  close(memory->second.file_descriptor);
  std::uint64_t& used = devices_.at(static_cast<std::size_t>(memory->second.device)).used;
  used -= std::min<std::uint64_t>(used, memory->second.size);
  physical_memory_.erase(memory);
}

CUresult simulated_machine::unmap_range(std::uintptr_t address, std::size_t size) {
  std::lock_guard lock(mutex_);
  const auto mappings = whole_mappings(address, size);
  if (mappings.empty()) return CUDA_ERROR_INVALID_VALUE;
  for (const auto& mapping : mappings)
    remove_mapping(mapping);
  return CUDA_SUCCESS;
}

CUresult simulated_machine::set_access(std::uintptr_t address,
                                       std::size_t size,
                                       int device,
                                       CUmemAccess_flags access) {
  std::lock_guard lock(mutex_);
  const auto mappings = whole_mappings(address, size);
  if (mappings.empty()) return CUDA_ERROR_INVALID_VALUE;
  for (const auto& mapping : mappings) {
    mapping->second.access_by_device[device] = access;
    if (mprotect(reinterpret_cast<void*>(mapping->first),
                 mapping->second.size,
                 host_protection(widest_access(mapping->second))) != 0) {
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
  }
  return CUDA_SUCCESS;
}

CUresult simulated_machine::access_of(std::uintptr_t address,
                                      int device,
                                      CUmemAccess_flags* access) const {
  std::lock_guard lock(mutex_);
  auto it = mappings_.upper_bound(address);
  if (it == mappings_.begin()) return CUDA_ERROR_INVALID_VALUE;
  --it;
  if (address >= it->first + it->second.size) return CUDA_ERROR_INVALID_VALUE;
  const auto found = it->second.access_by_device.find(device);
  *access =
      found == it->second.access_by_device.end() ? CU_MEM_ACCESS_FLAGS_PROT_NONE : found->second;
  return CUDA_SUCCESS;
}

std::optional<std::pair<std::uintptr_t, std::size_t>> simulated_machine::reservation_containing(
    const void* pointer) const {
  std::lock_guard lock(mutex_);
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  auto it = reservations_.upper_bound(address);
  if (it == reservations_.begin()) return std::nullopt;
  --it;
  if (address >= it->first + it->second) return std::nullopt;
  return *it;
}

CUresult simulated_machine::create_stream(CUcontext context,
                                          unsigned flags,
                                          int priority,
                                          CUstream* out) {
  std::lock_guard lock(mutex_);
  auto stream = std::make_unique<CUstream_st>();
  stream->context = context;
  stream->flags = flags;
  stream->priority = priority;
  *out = stream.get();
  streams_.emplace(stream.get(), std::move(stream));
  return CUDA_SUCCESS;
}

CUresult simulated_machine::destroy_stream(CUstream stream) {
  std::lock_guard lock(mutex_);
  return streams_.erase(stream) == 1 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

bool simulated_machine::valid_stream(CUstream stream) const {
  if (stream == nullptr || stream == CU_STREAM_LEGACY || stream == CU_STREAM_PER_THREAD)
    return true;
  std::lock_guard lock(mutex_);
  return streams_.contains(stream);
}

CUstream_st* simulated_machine::stream_object(CUstream stream) const {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : it->second.get();
}

void simulated_machine::capture_state(CUstream stream,
                                      CUstreamCaptureStatus* status,
                                      std::uint64_t* id) const {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(stream);
  *status = it == streams_.end() ? CU_STREAM_CAPTURE_STATUS_NONE : it->second->capture_status;
  if (id != nullptr) *id = it == streams_.end() ? 0 : it->second->capture_id;
}

CUresult simulated_machine::check_synchronize(CUstream stream) {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(stream);
  if (it == streams_.end() || it->second->capture_status == CU_STREAM_CAPTURE_STATUS_NONE)
    return CUDA_SUCCESS;
  it->second->capture_status = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
  return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

CUresult simulated_machine::begin_capture(CUstream stream, CUstreamCaptureMode mode, CUgraph into) {
  std::lock_guard lock(mutex_);
  if (into != nullptr && !graphs_.contains(into)) return CUDA_ERROR_INVALID_VALUE;
  const auto it = streams_.find(stream);
  // Capturing the legacy or per-thread default stream is not supported by the simulator
  // (CUDA refuses the legacy stream too).
  if (it == streams_.end()) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  CUstream_st& object = *it->second;
  if (object.capture_status != CU_STREAM_CAPTURE_STATUS_NONE) return CUDA_ERROR_ILLEGAL_STATE;
  object.capture_status = CU_STREAM_CAPTURE_STATUS_ACTIVE;
  object.capture_mode = mode;
  object.capture_thread = std::this_thread::get_id();
  object.capture_id = next_capture_id_++;
  object.capture_graph = into;
  return CUDA_SUCCESS;
}

CUresult simulated_machine::end_capture(CUstream stream, CUgraph* graph) {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(stream);
  if (it == streams_.end()) return CUDA_ERROR_ILLEGAL_STATE;
  CUstream_st& object = *it->second;
  if (object.capture_status == CU_STREAM_CAPTURE_STATUS_NONE) return CUDA_ERROR_ILLEGAL_STATE;
  const bool invalidated = object.capture_status == CU_STREAM_CAPTURE_STATUS_INVALIDATED;
  const std::uint64_t id = object.capture_id;
  const CUgraph into = object.capture_graph;
  std::vector<CUgraphNodeType> captured = std::move(object.captured_nodes);
  object.capture_status = CU_STREAM_CAPTURE_STATUS_NONE;
  object.capture_id = 0;
  object.capture_graph = nullptr;
  object.captured_nodes.clear();
  if (invalidated) {
    *graph = nullptr;
    return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
  }
  *graph = into != nullptr && graphs_.contains(into) ? into : new_graph(id);
  (*graph)->capture_id = id;
  for (const CUgraphNodeType type : captured)
    (*graph)->nodes.push_back(std::make_unique<CUgraphNode_st>(CUgraphNode_st{type}));
  return CUDA_SUCCESS;
}

CUresult simulated_machine::create_graph(CUgraph* graph) {
  std::lock_guard lock(mutex_);
  *graph = new_graph(0);
  return CUDA_SUCCESS;
}

CUgraph simulated_machine::new_graph(std::uint64_t capture_id) {
  auto made = std::make_unique<CUgraph_st>();
  made->capture_id = capture_id;
  const CUgraph graph = made.get();
  graphs_.emplace(graph, std::move(made));
  return graph;
}

CUresult simulated_machine::destroy_graph(CUgraph graph) {
  std::lock_guard lock(mutex_);
  return graphs_.erase(graph) == 1 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

void simulated_machine::record_if_capturing(CUstream stream, CUgraphNodeType type) {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(stream);
  if (it != streams_.end() && it->second->capture_status == CU_STREAM_CAPTURE_STATUS_ACTIVE)
    it->second->captured_nodes.push_back(type);
}

CUresult simulated_machine::graph_nodes(CUgraph graph,
                                        CUgraphNode* nodes,
                                        std::size_t* count) const {
  std::lock_guard lock(mutex_);
  if (count == nullptr || !graphs_.contains(graph)) return CUDA_ERROR_INVALID_VALUE;
  if (nodes == nullptr) {
    *count = graph->nodes.size();
    return CUDA_SUCCESS;
  }
  *count = std::min(*count, graph->nodes.size());
  for (std::size_t i = 0; i < *count; ++i)
    nodes[i] = graph->nodes[i].get();
  return CUDA_SUCCESS;
}

CUresult simulated_machine::graph_node_type(CUgraphNode node, CUgraphNodeType* type) const {
  std::lock_guard lock(mutex_);
  if (type == nullptr) return CUDA_ERROR_INVALID_VALUE;
  for (const auto& [graph, object] : graphs_) {
    for (const auto& owned : object->nodes) {
      if (owned.get() == node) {
        *type = node->type;
        return CUDA_SUCCESS;
      }
    }
  }
  return CUDA_ERROR_INVALID_VALUE;
}

namespace {
thread_local CUstreamCaptureMode thread_capture_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
}  // namespace

void simulated_machine::exchange_thread_capture_mode(CUstreamCaptureMode* mode) noexcept {
  std::swap(thread_capture_mode, *mode);
}

CUresult simulated_machine::check_unsafe_call_during_capture(bool synchronizes) {
  // A relaxed thread may make unsafe calls while others capture, but a device
  // synchronization breaks every capture whatever the calling thread's mode (as the H200
  // shows: tests/cuda/test_driver_api.cpp).
  if (!synchronizes && thread_capture_mode == CU_STREAM_CAPTURE_MODE_RELAXED) return CUDA_SUCCESS;
  std::lock_guard lock(mutex_);
  CUresult result = CUDA_SUCCESS;
  for (auto& [handle, stream] : streams_) {
    if (stream->capture_status != CU_STREAM_CAPTURE_STATUS_ACTIVE) continue;
    const bool forbids = synchronizes || stream->capture_mode == CU_STREAM_CAPTURE_MODE_GLOBAL ||
                         (stream->capture_mode == CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
                          stream->capture_thread == std::this_thread::get_id());
    if (forbids) {
      stream->capture_status = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
      result = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    }
  }
  return result;
}

CUresult simulated_machine::create_event(CUcontext context, unsigned flags, CUevent* out) {
  std::lock_guard lock(mutex_);
  auto event = std::make_unique<CUevent_st>();
  event->context = context;
  event->flags = flags;
  *out = event.get();
  events_.emplace(event.get(), std::move(event));
  return CUDA_SUCCESS;
}

CUresult simulated_machine::destroy_event(CUevent event) {
  std::lock_guard lock(mutex_);
  return events_.erase(event) == 1 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

bool simulated_machine::valid_event(CUevent event) const {
  std::lock_guard lock(mutex_);
  return events_.contains(event);
}

CUresult simulated_machine::create_pool(int device, std::uint64_t max_size, CUmemoryPool* out) {
  std::lock_guard lock(mutex_);
  auto pool = std::make_unique<CUmemPoolHandle_st>(CUmemPoolHandle_st{device, false, max_size});
  *out = pool.get();
  pools_.emplace(pool.get(), std::move(pool));
  return CUDA_SUCCESS;
}

CUresult simulated_machine::destroy_pool(CUmemoryPool pool) {
  std::lock_guard lock(mutex_);
  const auto it = pools_.find(pool);
  if (it == pools_.end()) return CUDA_ERROR_INVALID_VALUE;
  for (device_state& device : devices_) {
    if (device.current_pool == pool) device.current_pool = device.default_pool.get();
  }
  // Blocks still allocated from the pool stay counted as outstanding, so tests see the leak;
  // they forget the pool they came from.
  for (auto& [address, block] : allocations_) {
    if (block.pool == pool) block.pool = nullptr;
  }
  pools_.erase(it);
  return CUDA_SUCCESS;
}

bool simulated_machine::valid_pool(CUmemoryPool pool) const {
  std::lock_guard lock(mutex_);
  if (pools_.contains(pool)) return true;
  return std::any_of(devices_.begin(), devices_.end(), [pool](const device_state& device) {
    return device.default_pool.get() == pool || device.default_managed_pool.get() == pool;
  });
}

CUmemoryPool simulated_machine::default_pool(int device) {
  return devices_.at(static_cast<std::size_t>(device)).default_pool.get();
}

CUmemoryPool simulated_machine::default_managed_pool(int device) {
  return devices_.at(static_cast<std::size_t>(device)).default_managed_pool.get();
}

CUmemoryPool simulated_machine::current_pool(int device) {
  std::lock_guard lock(mutex_);
  return devices_.at(static_cast<std::size_t>(device)).current_pool;
}

CUresult simulated_machine::set_current_pool(int device, CUmemoryPool pool) {
  if (!valid_pool(pool) || pool->device != device) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard lock(mutex_);
  devices_.at(static_cast<std::size_t>(device)).current_pool = pool;
  return CUDA_SUCCESS;
}

std::size_t simulated_machine::outstanding_allocations(int device) const {
  std::lock_guard lock(mutex_);
  const auto on_device = [device](const auto& entry) {
    return device < 0 || entry.second.device == device;
  };
  return static_cast<std::size_t>(
      std::count_if(allocations_.begin(), allocations_.end(), on_device) +
      std::count_if(physical_memory_.begin(), physical_memory_.end(), on_device));
}

std::uint64_t simulated_machine::bytes_in_use(int device) const {
  std::lock_guard lock(mutex_);
  if (device >= 0) return devices_.at(static_cast<std::size_t>(device)).used;
  std::uint64_t total = 0;
  for (const device_state& state : devices_)
    total += state.used;
  return total;
}

void simulated_machine::count_call(const char* name) {
  std::lock_guard lock(mutex_);
  ++call_counts_[name];
}

std::uint64_t simulated_machine::call_count(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto it = call_counts_.find(name);
  return it == call_counts_.end() ? 0 : it->second;
}

void simulated_machine::reset_call_counts() {
  std::lock_guard lock(mutex_);
  call_counts_.clear();
}

void simulated_machine::fail_allocation_number(std::uint64_t n) {
  std::lock_guard lock(mutex_);
  settings_.fail_allocation_number = n == 0 ? 0 : allocation_calls_ + n;
}

void simulated_machine::fail_above(std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  settings_.fail_above_bytes = bytes;
}

void simulated_machine::hide_memory(std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  settings_.hidden_bytes = bytes;
}

std::uint64_t simulated_machine::hidden_memory() const {
  std::lock_guard lock(mutex_);
  return settings_.hidden_bytes;
}

}  // namespace gpumem::sim
