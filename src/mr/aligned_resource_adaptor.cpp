#include "gpumem/mr/aligned_resource_adaptor.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "gpumem/error.hpp"

namespace gpumem::mr::detail {

aligned_adaptor_core::aligned_adaptor_core(device_async_resource_ref upstream,
                                           std::size_t alignment,
                                           std::size_t alignment_threshold)
    : resource_adaptor_core{upstream},
      alignment_{alignment},
      alignment_threshold_{alignment_threshold} {
  if (!is_supported_alignment(alignment)) {
    throw gpumem::logic_error{"gpumem: aligned_resource_adaptor: the alignment " +
                              std::to_string(alignment) + " is not a power of two"};
  }
}

bool aligned_adaptor_core::passes_through(std::size_t bytes) const noexcept {
  return alignment_ <= CUDA_ALLOCATION_ALIGNMENT || bytes < alignment_threshold_;
}

std::size_t aligned_adaptor_core::upstream_size(std::size_t bytes) const noexcept {
  // The upstream's block starts 256-byte aligned, so at most alignment - 256 bytes lie before
  // the first aligned address in it.
  return align_up(bytes, CUDA_ALLOCATION_ALIGNMENT) + alignment_ - CUDA_ALLOCATION_ALIGNMENT;
}

void* aligned_adaptor_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  // Passed through as asked, size unchanged (an alignment of 1 rounds nothing), as RMM does.
  if (passes_through(bytes)) return allocate_upstream(bytes, stream, 1);
  if (bytes > std::numeric_limits<std::size_t>::max() - alignment_) {
    throw gpumem::out_of_memory{"gpumem: aligned_resource_adaptor: cannot allocate " +
                                std::to_string(bytes) + " B aligned to " +
                                std::to_string(alignment_) + ": the size does not fit"};
  }
  const std::size_t size = upstream_size(bytes);
  void* upstream_pointer = allocate_upstream(size, stream);
  const auto address = reinterpret_cast<std::uintptr_t>(upstream_pointer);
  void* aligned = reinterpret_cast<void*>(align_up(address, alignment_));
  if (aligned != upstream_pointer) {
    try {
      std::lock_guard lock{mutex_};
      upstream_pointers_.insert_or_assign(aligned, upstream_pointer);
    } catch (...) {
      deallocate_upstream(upstream_pointer, size, stream);
      throw;
    }
  }
  return aligned;
}

void aligned_adaptor_core::do_deallocate(void* ptr,
                                         std::size_t bytes,
                                         cuda_stream_view stream) noexcept {
  if (passes_through(bytes)) {
    deallocate_upstream(ptr, bytes, stream, 1);
    return;
  }
  void* upstream_pointer = ptr;
  {
    // Forgotten before the upstream frees, so an address handed out again afterwards keeps its
    // entry.
    std::lock_guard lock{mutex_};
    if (const auto position = upstream_pointers_.find(ptr); position != upstream_pointers_.end()) {
      upstream_pointer = position->second;
      upstream_pointers_.erase(position);
    }
  }
  deallocate_upstream(upstream_pointer, upstream_size(bytes), stream);
}

bool aligned_adaptor_core::do_is_equal(const device_memory_resource& other) const noexcept {
  return same_core_and_upstream<aligned_adaptor_core>(other);
}

}  // namespace gpumem::mr::detail
