#include "core/segregated_free_index.hpp"

#include <algorithm>

namespace gpumem::core {

void segregated_free_index::insert(memory_block* block) noexcept {
  const size_class where = class_of(block->size);
  memory_block*& head = lists_[where.first][where.second];
  block->owner = this;
  block->previous_free = nullptr;
  block->next_free = head;
  if (head != nullptr) head->previous_free = block;
  head = block;
  second_level_maps_[where.first] |= 1U << where.second;
  first_level_map_ |= std::uint64_t{1} << where.first;
  ++block_count_;
  free_bytes_ += block->size;
}

void segregated_free_index::remove(memory_block* block) noexcept {
  const size_class where = class_of(block->size);
  memory_block*& head = lists_[where.first][where.second];
  if (block->previous_free != nullptr) {
    block->previous_free->next_free = block->next_free;
  } else {
    head = block->next_free;
  }
  if (block->next_free != nullptr) block->next_free->previous_free = block->previous_free;
  if (head == nullptr) {
    second_level_maps_[where.first] &= ~(1U << where.second);
    if (second_level_maps_[where.first] == 0)
      first_level_map_ &= ~(std::uint64_t{1} << where.first);
  }
  block->owner = nullptr;
  block->previous_free = nullptr;
  block->next_free = nullptr;
  --block_count_;
  free_bytes_ -= block->size;
}

segregated_free_index::size_class segregated_free_index::first_nonempty_from(
    size_class from) const noexcept {
  if (from.first >= kFirstLevels) return {kFirstLevels, 0};
  const std::uint32_t second_here =
      from.second >= kSecondLevels ? 0U : second_level_maps_[from.first] & (~0U << from.second);
  if (second_here != 0) return {from.first, static_cast<unsigned>(std::countr_zero(second_here))};
  const std::uint64_t first_above =
      from.first + 1 >= kFirstLevels ? 0
                                     : first_level_map_ & (~std::uint64_t{0} << (from.first + 1));
  if (first_above == 0) return {kFirstLevels, 0};
  const auto first = static_cast<unsigned>(std::countr_zero(first_above));
  return {first, static_cast<unsigned>(std::countr_zero(second_level_maps_[first]))};
}

memory_block* segregated_free_index::find(std::size_t size) const noexcept {
  if (empty()) return nullptr;
  // The request's own class holds blocks both smaller and larger than the request: look at a
  // few for the tightest fit.
  const size_class own = class_of(size);
  memory_block* const own_head = lists_[own.first][own.second];
  memory_block* best = nullptr;
  memory_block* block = own_head;
  for (unsigned probed = 0; block != nullptr && probed < kBestFitProbe;
       block = block->next_free, ++probed) {
    if (block->size >= size && (best == nullptr || block->size < best->size)) {
      best = block;
      if (block->size == size) return best;
    }
  }
  if (best != nullptr) return best;
  // Every block of a larger class fits.
  const size_class next = own.second + 1 < kSecondLevels ? size_class{own.first, own.second + 1}
                                                         : size_class{own.first + 1, 0};
  if (const size_class found = first_nonempty_from(next); found.first < kFirstLevels) {
    return lists_[found.first][found.second];
  }
  // Only the rest of the request's own class is left: look at all of it, so a fitting block is
  // always found when one exists.
  for (; block != nullptr; block = block->next_free) {
    if (block->size >= size) return block;
  }
  return nullptr;
}

std::size_t segregated_free_index::largest_block() const noexcept {
  if (empty()) return 0;
  const auto first = static_cast<unsigned>(std::bit_width(first_level_map_)) - 1;
  const auto second = static_cast<unsigned>(std::bit_width(second_level_maps_[first])) - 1;
  std::size_t largest = 0;
  for (const memory_block* block = lists_[first][second]; block != nullptr;
       block = block->next_free) {
    largest = std::max(largest, block->size);
  }
  return largest;
}

}  // namespace gpumem::core
