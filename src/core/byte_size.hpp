#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gpumem::core {

/// A size read from text: either a number of bytes or a share of something (device memory).
struct byte_size {
  /// The number of bytes, when the text named an absolute size.
  std::optional<std::uint64_t> bytes;
  /// The share in percent (0 < percent <= 100), when the text ended in `%`.
  std::optional<double> percent;
};

/**
 * @brief Reads a size such as `4096`, `512MiB`, `1.5GB`, `4G` or (when allowed) `50%`.
 *
 * Units, case-insensitive: `B`; decimal `KB`, `MB`, `GB`, `TB` (powers of 1000); binary
 * `KiB`, `MiB`, `GiB`, `TiB` and the short forms `K`, `M`, `G`, `T` (powers of 1024).
 * A fraction is allowed before a unit other than `B`; the result is rounded down to whole bytes.
 * Spaces around the number and between number and unit are ignored.
 *
 * @param text the text to read
 * @param allow_percent whether `N%` is accepted
 * @param why receives a short reason when the text is not a size (may be null)
 * @return the size, or `std::nullopt` when `text` is not a size (empty, negative, unknown
 *         unit, trailing characters, larger than 2^64-1 bytes, percent outside (0, 100])
 */
std::optional<byte_size> parse_byte_size(std::string_view text,
                                         bool allow_percent,
                                         std::string* why = nullptr);

/// Reads an absolute size (no percent); see parse_byte_size().
std::optional<std::uint64_t> parse_bytes(std::string_view text, std::string* why = nullptr);

/// Writes a size for people: `512 B`, `4.0 KiB`, `1.5 GiB` (binary units, one decimal).
std::string format_bytes(std::uint64_t bytes);

}  // namespace gpumem::core
