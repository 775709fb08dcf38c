#include "mr/sanitizer_annotations.hpp"

#include <nvtx3/nvToolsExtMem.h>

#include <algorithm>
#include <mutex>

namespace gpumem::mr::detail {
namespace {

/// gpumem's NVTX domain (created at the first use).
nvtxDomainHandle_t domain() {
  static const nvtxDomainHandle_t created = nvtxDomainCreateA("gpumem");
  return created;
}

}  // namespace

std::atomic<bool> sanitizer_annotations::any_heap_{false};

bool sanitizer_annotations::tool_attached() noexcept {
  // Whether a tool took NVTX's memory extension: once the extension is initialized, the slot of
  // nvtxMemHeapRegister holds the tool's function, or "disabled" without one. (A domain tells
  // nothing: compute-sanitizer gives no domain handles, yet reads the memory API.)
  static const bool attached = [] {
    NVTX_EXT_MEM_VERSIONED_ID(nvtxExtMemInitOnce)();
    const intptr_t slot =
        NVTX_EXT_MEM_VERSIONED_ID(nvtxExtMemSlots)[NVTX3EXT_CBID_nvtxMemHeapRegister + 1];
    return slot != NVTX_EXTENSION_DISABLED && slot != NVTX_EXTENSION_FRESH;
  }();
  return attached;
}

void sanitizer_annotations::block_requested(const void* pointer, std::size_t bytes) noexcept {
  if (!any_heap_.load(std::memory_order_acquire)) return;
  nvtxMemVirtualRangeDesc_t range{};
  range.ptr = pointer;
  range.size = bytes;
  nvtxMemRegionsResizeBatch_t batch{};
  batch.extCompatID = NVTX_EXT_COMPATID_MEM;
  batch.structSize = sizeof batch;
  batch.regionType = NVTX_MEM_TYPE_VIRTUAL_ADDRESS;
  batch.regionDescCount = 1;
  batch.regionDescElementSize = sizeof range;
  batch.regionDescElements = &range;
  nvtxMemRegionsResize(domain(), &batch);
}

void sanitizer_annotations::heap_added(std::uintptr_t address, std::size_t extent) noexcept {
  nvtxMemVirtualRangeDesc_t range{};
  range.ptr = reinterpret_cast<const void*>(address);
  range.size = extent;
  nvtxMemHeapDesc_t description{};
  description.extCompatID = NVTX_EXT_COMPATID_MEM;
  description.structSize = sizeof description;
  description.usage = NVTX_MEM_HEAP_USAGE_TYPE_SUB_ALLOCATOR;
  description.type = NVTX_MEM_TYPE_VIRTUAL_ADDRESS;
  description.typeSpecificDescSize = sizeof range;
  description.typeSpecificDesc = &range;
  description.messageType = NVTX_MESSAGE_TYPE_ASCII;
  description.message.ascii = "gpumem pool slab";
  nvtxMemHeapHandle_t handle = nvtxMemHeapRegister(domain(), &description);
  if (handle == nullptr) return;  // no tool
  std::lock_guard lock(lock_);
  const auto at =
      std::lower_bound(heaps_.begin(), heaps_.end(), address, [](const heap& h, std::uintptr_t a) {
        return h.address < a;
      });
  try {
    heaps_.insert(at, heap{address, extent, handle});
  } catch (...) {
    // Out of host memory: the tool keeps the heap, its blocks go unregistered.
    return;
  }
  attached_.store(true, std::memory_order_release);
  any_heap_.store(true, std::memory_order_release);
}

void sanitizer_annotations::heap_removed(std::uintptr_t address) noexcept {
  if (!attached_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(lock_);
  const auto found = std::find_if(
      heaps_.begin(), heaps_.end(), [address](const heap& h) { return h.address == address; });
  if (found == heaps_.end()) return;
  nvtxMemHeapUnregister(domain(), static_cast<nvtxMemHeapHandle_t>(found->handle));
  heaps_.erase(found);
}

void sanitizer_annotations::register_block(std::uintptr_t address, std::size_t bytes) noexcept {
  std::lock_guard lock(lock_);
  // The heap holding the block: the last one starting at or before it.
  const auto after =
      std::upper_bound(heaps_.begin(), heaps_.end(), address, [](std::uintptr_t a, const heap& h) {
        return a < h.address;
      });
  if (after == heaps_.begin()) return;
  const heap& holder = *(after - 1);
  if (address >= holder.address + holder.extent) return;
  nvtxMemVirtualRangeDesc_t range{};
  range.ptr = reinterpret_cast<const void*>(address);
  range.size = bytes;
  nvtxMemRegionsRegisterBatch_t batch{};
  batch.extCompatID = NVTX_EXT_COMPATID_MEM;
  batch.structSize = sizeof batch;
  batch.regionType = NVTX_MEM_TYPE_VIRTUAL_ADDRESS;
  batch.heap = static_cast<nvtxMemHeapHandle_t>(holder.handle);
  batch.regionCount = 1;
  batch.regionDescElementSize = sizeof range;
  batch.regionDescElements = &range;
  nvtxMemRegionsRegister(domain(), &batch);
}

void sanitizer_annotations::unregister_block(std::uintptr_t address) noexcept {
  nvtxMemRegionRef_t reference{};
  reference.pointer = reinterpret_cast<const void*>(address);
  nvtxMemRegionsUnregisterBatch_t batch{};
  batch.extCompatID = NVTX_EXT_COMPATID_MEM;
  batch.structSize = sizeof batch;
  batch.refType = NVTX_MEM_REGION_REF_TYPE_POINTER;
  batch.refCount = 1;
  batch.refElementSize = sizeof reference;
  batch.refElements = &reference;
  nvtxMemRegionsUnregister(domain(), &batch);
}

}  // namespace gpumem::mr::detail
