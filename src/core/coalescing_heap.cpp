#include "core/coalescing_heap.hpp"

#include <algorithm>

namespace gpumem::core {

void coalescing_heap::add_slab(std::uintptr_t address,
                               std::size_t size,
                               segregated_free_index& index) {
  memory_block* block = records_.make();
  block->address = address;
  block->size = size;
  std::uint32_t entry = 0;
  if (unused_slab_entries_.empty()) {
    entry = static_cast<std::uint32_t>(slabs_.size());
    slabs_.push_back(slab{block, size});
  } else {
    entry = unused_slab_entries_.back();
    unused_slab_entries_.pop_back();
    slabs_[entry] = slab{block, size};
  }
  block->slab = entry;
  slab_bytes_ += size;
  slab_by_address_.insert(address, entry + 1);
  index.insert(block);
}

void coalescing_heap::remove_free_slab(address_range slab_range) noexcept {
  const std::uint32_t entry_plus_one = slab_by_address_.find(slab_range.address, 0U);
  if (entry_plus_one == 0) return;
  slab& entry = slabs_[entry_plus_one - 1];
  if (!entry.first->is_free() || entry.first->size != entry.size) return;
  entry.first->owner->remove(entry.first);
  forget_slab(entry_plus_one - 1);
}

void coalescing_heap::forget_slab(std::uint32_t index) noexcept {
  slab& entry = slabs_[index];
  slab_by_address_.take(entry.first->address, 0U);
  records_.recycle(entry.first);
  slab_bytes_ -= entry.size;
  entry = slab{nullptr, 0};
  unused_slab_entries_.push_back(index);
}

std::uintptr_t coalescing_heap::allocate(segregated_free_index& index, std::size_t size) {
  memory_block* block = index.find(size);
  if (block == nullptr) return 0;
  // Reserve what may throw before changing anything, so a failure leaves the heap as it was.
  memory_block* remainder = block->size - size >= granularity_ ? records_.make() : nullptr;
  allocated_.insert(block->address, block);
  index.remove(block);
  if (remainder != nullptr) {
    remainder->address = block->address + size;
    remainder->size = block->size - size;
    remainder->slab = block->slab;
    remainder->previous_in_memory = block;
    remainder->next_in_memory = block->next_in_memory;
    if (block->next_in_memory != nullptr) block->next_in_memory->previous_in_memory = remainder;
    block->next_in_memory = remainder;
    block->size = size;
    index.insert(remainder);
  }
  allocated_bytes_ += block->size;
  return block->address;
}

std::size_t coalescing_heap::free(std::uintptr_t address, segregated_free_index& index) noexcept {
  return free_block(address, index).size;
}

coalescing_heap::freed_block coalescing_heap::free_block(std::uintptr_t address,
                                                         segregated_free_index& index) noexcept {
  memory_block* block = allocated_.take(address, nullptr);
  if (block == nullptr) return {0, {0, 0}};
  const std::size_t size = block->size;
  allocated_bytes_ -= size;
  index.insert(block);
  const memory_block* merged = merge_with_neighbours(block, index);
  const slab& home = slabs_[merged->slab];
  if (merged == home.first && merged->size == home.size)
    return {size, {merged->address, merged->size}};
  return {size, {0, 0}};
}

std::size_t coalescing_heap::allocated_size(std::uintptr_t address) const noexcept {
  const memory_block* block = allocated_.find(address, nullptr);
  return block == nullptr ? 0 : block->size;
}

memory_block* coalescing_heap::merge_with_neighbours(memory_block* block,
                                                     segregated_free_index& index) noexcept {
  memory_block* next = block->next_in_memory;
  if (mergeable(next, index)) {
    index.remove(block);
    next->owner->remove(next);
    block->size += next->size;
    block->next_in_memory = next->next_in_memory;
    if (next->next_in_memory != nullptr) next->next_in_memory->previous_in_memory = block;
    records_.recycle(next);
    index.insert(block);
  }
  memory_block* previous = block->previous_in_memory;
  if (mergeable(previous, index)) {
    previous->owner->remove(previous);
    index.remove(block);
    previous->size += block->size;
    previous->next_in_memory = block->next_in_memory;
    if (block->next_in_memory != nullptr) block->next_in_memory->previous_in_memory = previous;
    records_.recycle(block);
    index.insert(previous);
    block = previous;
  }
  return block;
}

void coalescing_heap::transfer(segregated_free_index& from, segregated_free_index& to) noexcept {
  if (&from == &to) return;
  from.for_each([&](memory_block* block) {
    from.remove(block);
    to.insert(block);
  });
  // Merge only after every block has moved, so each block meets all its new neighbours. A
  // block's record may be recycled by a merge, so walk the slabs rather than a saved list.
  for (const slab& entry : slabs_) {
    if (entry.size == 0) continue;
    for (memory_block* block = entry.first; block != nullptr;) {
      if (block->owner == &to) block = merge_with_neighbours(block, to);
      block = block->next_in_memory;
    }
  }
}

std::vector<address_range> coalescing_heap::take_free_slabs(const segregated_free_index* only_in) {
  std::vector<address_range> taken;
  for (std::uint32_t i = 0; i < slabs_.size(); ++i) {
    slab& entry = slabs_[i];
    if (entry.size == 0 || !entry.first->is_free() || entry.first->size != entry.size) continue;
    if (only_in != nullptr && entry.first->owner != only_in) continue;
    taken.push_back(address_range{entry.first->address, entry.size});
    entry.first->owner->remove(entry.first);
    forget_slab(i);
  }
  return taken;
}

memory_block* coalescing_heap::last_block(const slab& entry) noexcept {
  memory_block* block = entry.first;
  while (block->next_in_memory != nullptr)
    block = block->next_in_memory;
  return block;
}

std::size_t coalescing_heap::slab_size(std::uintptr_t slab_address) const noexcept {
  const std::uint32_t entry_plus_one = slab_by_address_.find(slab_address, 0U);
  return entry_plus_one == 0 ? 0 : slabs_[entry_plus_one - 1].size;
}

std::size_t coalescing_heap::free_end(std::uintptr_t slab_address,
                                      const segregated_free_index& index) const noexcept {
  const std::uint32_t entry_plus_one = slab_by_address_.find(slab_address, 0U);
  if (entry_plus_one == 0) return 0;
  const memory_block* last = last_block(slabs_[entry_plus_one - 1]);
  return mergeable(last, index) ? last->size : 0;
}

bool coalescing_heap::extend_slab(std::uintptr_t slab_address,
                                  std::size_t extra,
                                  segregated_free_index& index) {
  const std::uint32_t entry_plus_one = slab_by_address_.find(slab_address, 0U);
  if (entry_plus_one == 0) return false;
  slab& entry = slabs_[entry_plus_one - 1];
  memory_block* last = last_block(entry);
  memory_block* block = records_.make();
  block->address = slab_address + entry.size;
  block->size = extra;
  block->slab = entry_plus_one - 1;
  block->previous_in_memory = last;
  last->next_in_memory = block;
  entry.size += extra;
  slab_bytes_ += extra;
  index.insert(block);
  merge_with_neighbours(block, index);
  return true;
}

std::size_t coalescing_heap::trim_slab_end(std::uintptr_t slab_address,
                                           std::size_t unit,
                                           const segregated_free_index& only_in) noexcept {
  const std::uint32_t entry_plus_one = slab_by_address_.find(slab_address, 0U);
  if (entry_plus_one == 0) return 0;
  slab& entry = slabs_[entry_plus_one - 1];
  memory_block* last = last_block(entry);
  if (last->owner != &only_in) return 0;
  const std::uintptr_t slab_end = slab_address + entry.size;
  const std::uintptr_t kept_end = std::max(
      slab_address + unit, slab_address + (last->address - slab_address + unit - 1) / unit * unit);
  if (kept_end >= slab_end) return 0;
  const std::size_t cut = slab_end - kept_end;
  segregated_free_index* owner = last->owner;
  owner->remove(last);
  if (kept_end == last->address) {
    last->previous_in_memory->next_in_memory = nullptr;
    records_.recycle(last);
  } else {
    last->size -= cut;
    owner->insert(last);
  }
  entry.size -= cut;
  slab_bytes_ -= cut;
  return cut;
}

std::vector<address_range> coalescing_heap::slabs() const {
  std::vector<address_range> ranges;
  for (const slab& entry : slabs_) {
    if (entry.size != 0) ranges.push_back(address_range{entry.first->address, entry.size});
  }
  return ranges;
}

}  // namespace gpumem::core
