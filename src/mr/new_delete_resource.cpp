#include "gpumem/mr/new_delete_resource.hpp"

#include <new>

#include "gpumem/aligned.hpp"

namespace gpumem::mr {
namespace {

/// The alignment actually used for a requested one: the same on allocation and deallocation.
std::align_val_t effective_alignment(std::size_t alignment) noexcept {
  return std::align_val_t{is_supported_alignment(alignment) ? alignment
                                                            : alignof(std::max_align_t)};
}

}  // namespace

void* new_delete_resource::do_allocate(std::size_t bytes, std::size_t alignment) {
  // Raw operator new is this resource's whole purpose: the memory is untyped, and
  // do_deallocate returns it with the matching sized, aligned operator delete.
  return ::operator new(bytes, effective_alignment(alignment));
}

void new_delete_resource::do_deallocate(void* ptr,
                                        std::size_t bytes,
                                        std::size_t alignment) noexcept {
  ::operator delete(ptr, bytes, effective_alignment(alignment));
}

bool new_delete_resource::do_is_equal(const host_memory_resource& other) const noexcept {
  return dynamic_cast<const new_delete_resource*>(&other) != nullptr;
}

}  // namespace gpumem::mr
