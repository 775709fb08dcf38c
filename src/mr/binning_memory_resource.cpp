#include "gpumem/mr/binning_memory_resource.hpp"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "gpumem/aligned.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "gpumem/mr/fixed_size_memory_resource.hpp"

namespace gpumem::mr::detail {
namespace {

/// The bins at one moment: sizes ascending, each with the resource serving it.
struct bin_table {
  std::vector<std::size_t> sizes;
  std::vector<device_async_resource_ref> resources;
};

}  // namespace

struct binning_resource_core::state_type {
  state_type() {
    tables.push_back(std::make_unique<const bin_table>());
    current.store(tables.back().get(), std::memory_order_release);
  }

  /// Serializes add_bin.
  std::mutex add_mutex;
  /// Every table published so far: an allocation may still read an old one, so none is freed
  /// before the resource (add_bin is rare; a table is a few dozen bytes).
  std::vector<std::unique_ptr<const bin_table>> tables;
  std::atomic<const bin_table*> current{nullptr};
  std::vector<std::unique_ptr<fixed_size_memory_resource<device_memory_resource>>> owned_bins;
};

binning_resource_core::binning_resource_core(device_async_resource_ref upstream)
    : upstream_{upstream}, state_{std::make_unique<state_type>()} {}

binning_resource_core::binning_resource_core(device_async_resource_ref upstream,
                                             std::int8_t min_size_exponent,
                                             std::int8_t max_size_exponent)
    : binning_resource_core(upstream) {
  if (min_size_exponent > max_size_exponent) return;
  GPUMEM_EXPECTS(min_size_exponent >= 0 && max_size_exponent < 64,
                 "binning_memory_resource: bin size exponents must lie in [0, 63], got " +
                     std::to_string(min_size_exponent) + " .. " +
                     std::to_string(max_size_exponent));
  for (int exponent = min_size_exponent; exponent <= max_size_exponent; ++exponent) {
    add_bin(std::size_t{1} << exponent);
  }
}

binning_resource_core::~binning_resource_core() = default;

void binning_resource_core::add_bin(std::size_t allocation_size,
                                    std::optional<device_async_resource_ref> bin_resource) {
  const std::size_t size = align_up(allocation_size, CUDA_ALLOCATION_ALIGNMENT);
  // align_up wraps to 0 for sizes within 255 bytes of the largest size_t.
  GPUMEM_EXPECTS(
      size != 0,
      "binning_memory_resource: a bin size must be positive and representable once rounded "
      "up to 256 bytes, got " +
          std::to_string(allocation_size));
  std::lock_guard lock(state_->add_mutex);
  const bin_table& current = *state_->current.load(std::memory_order_acquire);
  const auto position = std::lower_bound(current.sizes.begin(), current.sizes.end(), size);
  if (position != current.sizes.end() && *position == size) return;
  const auto index = position - current.sizes.begin();

  // Everything that may throw happens before the new table is published.
  auto next = std::make_unique<bin_table>(current);
  next->sizes.reserve(current.sizes.size() + 1);
  next->resources.reserve(current.resources.size() + 1);
  state_->tables.reserve(state_->tables.size() + 1);
  state_->owned_bins.reserve(state_->owned_bins.size() + 1);
  if (!bin_resource) {
    state_->owned_bins.push_back(
        std::make_unique<fixed_size_memory_resource<device_memory_resource>>(upstream_, size));
    bin_resource = device_async_resource_ref{*state_->owned_bins.back()};
  }
  next->sizes.insert(next->sizes.begin() + index, size);
  next->resources.insert(next->resources.begin() + index, *bin_resource);
  state_->tables.push_back(std::move(next));
  state_->current.store(state_->tables.back().get(), std::memory_order_release);
}

std::vector<bin_state> binning_resource_core::bins() const {
  std::lock_guard lock(state_->add_mutex);
  const bin_table& table = *state_->current.load(std::memory_order_acquire);
  std::vector<bin_state> bins;
  for (const std::size_t size : table.sizes) {
    bin_state bin{size, false, 0};
    // An owned bin is the fixed-size resource of that block size (add_bin makes one per size).
    for (const auto& owned : state_->owned_bins) {
      if (owned->get_block_size() == size) {
        bin.owned = true;
        bin.reserved = owned->reserved_bytes();
      }
    }
    bins.push_back(bin);
  }
  return bins;
}

device_async_resource_ref binning_resource_core::resource_for(std::size_t bytes) const noexcept {
  const bin_table& table = *state_->current.load(std::memory_order_acquire);
  const auto bin = std::lower_bound(table.sizes.begin(), table.sizes.end(), bytes);
  if (bin == table.sizes.end()) return upstream_;
  return table.resources[static_cast<std::size_t>(bin - table.sizes.begin())];
}

void* binning_resource_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  if (bytes == 0) return nullptr;
  return resource_for(bytes).allocate_async(bytes, CUDA_ALLOCATION_ALIGNMENT, stream);
}

void binning_resource_core::do_deallocate(void* ptr,
                                          std::size_t bytes,
                                          cuda_stream_view stream) noexcept {
  if (ptr == nullptr) return;
  resource_for(bytes).deallocate_async(ptr, bytes, CUDA_ALLOCATION_ALIGNMENT, stream);
}

}  // namespace gpumem::mr::detail
