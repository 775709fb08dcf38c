#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gpumem::core {

/**
 * @brief A hash map from non-zero addresses to values, for the hot path of every free: open
 * addressing with linear probing and backward-shift deletion (no tombstones), so a lookup
 * costs a hash and a short scan of one cache line or two, with no heap allocation until the
 * table grows. Address 0 is reserved as the empty marker. Not thread safe.
 *
 * @tparam Value a trivially copyable value (a pointer, an index)
 */
template <typename Value>
class address_map {
 public:
  /// An empty map.
  address_map() : slots_(kInitialCapacity) {}

  /// Adds or replaces the value of `address` (non-zero). @throws std::bad_alloc when growing fails
  void insert(std::uintptr_t address, Value value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    place(address, value);
  }

  /// The value of `address`, or `missing` when absent.
  [[nodiscard]] Value find(std::uintptr_t address, Value missing = Value{}) const noexcept {
    for (std::size_t i = home(address);; i = next(i)) {
      const slot& candidate = slots_[i];
      if (candidate.address == address) return candidate.value;
      if (candidate.address == 0) return missing;
    }
  }

  /// Removes `address` and returns its value, or `missing` when absent.
  Value take(std::uintptr_t address, Value missing = Value{}) noexcept {
    std::size_t i = home(address);
    for (;; i = next(i)) {
      if (slots_[i].address == address) break;
      if (slots_[i].address == 0) return missing;
    }
    const Value value = slots_[i].value;
    // Shift later entries of the probe run back into the hole, so lookups never stop early.
    std::size_t hole = i;
    for (std::size_t j = next(i);; j = next(j)) {
      if (slots_[j].address == 0) break;
      const std::size_t wanted = home(slots_[j].address);
      const bool movable =
          hole <= j ? (wanted <= hole || wanted > j) : (wanted <= hole && wanted > j);
      if (movable) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = slot{};
    --size_;
    return value;
  }

  /// The number of entries.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Calls `visit(address, value)` for every entry.
  template <typename Visitor>
  void for_each(Visitor&& visit) const {
    for (const slot& entry : slots_) {
      if (entry.address != 0) visit(entry.address, entry.value);
    }
  }

 private:
  struct slot {
    std::uintptr_t address = 0;
    Value value{};
  };

  static constexpr std::size_t kInitialCapacity = 1024;  // a power of two

  [[nodiscard]] std::size_t home(std::uintptr_t address) const noexcept {
    // Fibonacci hashing; the low 8 bits of a 256-byte aligned address carry nothing.
    return static_cast<std::size_t>(((address >> 8) * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  [[nodiscard]] std::size_t next(std::size_t index) const noexcept {
    return (index + 1) & (slots_.size() - 1);
  }

  void place(std::uintptr_t address, Value value) noexcept {
    for (std::size_t i = home(address);; i = next(i)) {
      if (slots_[i].address == 0) {
        slots_[i] = slot{address, value};
        ++size_;
        return;
      }
      if (slots_[i].address == address) {
        slots_[i].value = value;
        return;
      }
    }
  }

  void grow() {
    std::vector<slot> old(slots_.size() * 2);
    old.swap(slots_);
    --shift_;
    size_ = 0;
    for (const slot& entry : old) {
      if (entry.address != 0) place(entry.address, entry.value);
    }
  }

  std::vector<slot> slots_;
  unsigned shift_ = 64 - 10;  // log2(kInitialCapacity) bits of hash
  std::size_t size_ = 0;
};

}  // namespace gpumem::core
