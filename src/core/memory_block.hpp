#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace gpumem::core {

class segregated_free_index;

/**
 * @brief A range of device memory inside a slab (one upstream allocation), described on the
 * host: device memory itself is never touched.
 *
 * Blocks of a slab form a doubly linked list in address order (`previous_in_memory`,
 * `next_in_memory`), so a freed block finds its neighbours in constant time. A free block is
 * also in one free list of a segregated_free_index (`previous_free`, `next_free`, `owner`).
 */
struct memory_block {
  std::uintptr_t address = 0;
  std::size_t size = 0;
  memory_block* previous_in_memory = nullptr;
  memory_block* next_in_memory = nullptr;
  memory_block* previous_free = nullptr;
  memory_block* next_free = nullptr;
  segregated_free_index* owner =
      nullptr;             ///< the index holding this free block; null when allocated
  std::uint32_t slab = 0;  ///< which slab the block belongs to

  [[nodiscard]] bool is_free() const noexcept { return owner != nullptr; }
  [[nodiscard]] std::uintptr_t end() const noexcept { return address + size; }
};

/**
 * @brief Hands out memory_block records from chunks and takes them back on a free list, so
 * splitting and merging blocks costs no heap allocation once warm. Not thread safe.
 */
class memory_block_records {
 public:
  memory_block_records() = default;
  memory_block_records(const memory_block_records&) = delete;
  memory_block_records& operator=(const memory_block_records&) = delete;
  memory_block_records(memory_block_records&&) noexcept = default;
  memory_block_records& operator=(memory_block_records&&) noexcept = default;
  ~memory_block_records() = default;

  /// A cleared record. @throws std::bad_alloc when host memory runs out
  memory_block* make() {
    if (spare_ == nullptr) add_chunk();
    memory_block* record = spare_;
    spare_ = record->next_free;
    *record = memory_block{};
    return record;
  }

  /// Takes a record back.
  void recycle(memory_block* record) noexcept {
    record->next_free = spare_;
    spare_ = record;
  }

 private:
  static constexpr std::size_t kChunkRecords = 1024;

  void add_chunk() {
    auto chunk = std::make_unique<memory_block[]>(kChunkRecords);
    for (std::size_t i = 0; i < kChunkRecords; ++i)
      recycle(&chunk[i]);
    chunks_.push_back(std::move(chunk));
  }

  std::vector<std::unique_ptr<memory_block[]>> chunks_;
  memory_block* spare_ = nullptr;
};

}  // namespace gpumem::core
