#pragma once

/**
 * @file aligned.hpp
 * @brief Alignment arithmetic and CUDA's allocation alignment.
 */

#include <cstddef>
#include <cstdint>

namespace gpumem {

/// The alignment of every CUDA device allocation, and of every gpumem device allocation.
inline constexpr std::size_t CUDA_ALLOCATION_ALIGNMENT{256};

/// The alignment of host allocations when none is asked for: that of std::max_align_t (RMM
/// 25.10 spells it RMM_DEFAULT_HOST_ALIGNMENT).
inline constexpr std::size_t DEFAULT_HOST_ALIGNMENT{alignof(std::max_align_t)};
/// RMM 25.10's name for DEFAULT_HOST_ALIGNMENT.
inline constexpr std::size_t RMM_DEFAULT_HOST_ALIGNMENT{DEFAULT_HOST_ALIGNMENT};

/// Whether `value` is a power of two (0 is not).
[[nodiscard]] constexpr bool is_pow2(std::size_t value) noexcept {
  return value != 0 && (value & (value - 1)) == 0;
}

/// Whether `alignment` is a valid alignment: a power of two.
[[nodiscard]] constexpr bool is_supported_alignment(std::size_t alignment) noexcept {
  return is_pow2(alignment);
}

/**
 * @brief `value` rounded up to a multiple of `alignment`.
 * @pre `alignment` is a power of two and the result fits in std::size_t.
 */
[[nodiscard]] constexpr std::size_t align_up(std::size_t value, std::size_t alignment) noexcept {
  return (value + (alignment - 1)) & ~(alignment - 1);
}

/**
 * @brief `value` rounded down to a multiple of `alignment`.
 * @pre `alignment` is a power of two.
 */
[[nodiscard]] constexpr std::size_t align_down(std::size_t value, std::size_t alignment) noexcept {
  return value & ~(alignment - 1);
}

/// Whether `value` is a multiple of `alignment` (a power of two).
[[nodiscard]] constexpr bool is_aligned(std::size_t value, std::size_t alignment) noexcept {
  return value == align_down(value, alignment);
}

/// Whether `pointer` is a multiple of `alignment` (a power of two; default: CUDA's).
[[nodiscard]] inline bool is_pointer_aligned(
    const void* pointer, std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT) noexcept {
  return is_aligned(reinterpret_cast<std::uintptr_t>(pointer), alignment);
}

}  // namespace gpumem
