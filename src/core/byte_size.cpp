#include "byte_size.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "ascii.hpp"

namespace gpumem::core {
namespace {

struct unit {
  std::string_view name;
  std::uint64_t multiplier;
};

constexpr std::uint64_t kKi = 1024;
constexpr std::array<unit, 14> kUnits{{
    {"b", 1},
    {"kb", 1000},
    {"mb", 1000 * 1000},
    {"gb", 1000ULL * 1000 * 1000},
    {"tb", 1000ULL * 1000 * 1000 * 1000},
    {"kib", kKi},
    {"mib", kKi* kKi},
    {"gib", kKi* kKi* kKi},
    {"tib", kKi* kKi* kKi* kKi},
    {"k", kKi},
    {"m", kKi* kKi},
    {"g", kKi* kKi* kKi},
    {"t", kKi* kKi* kKi* kKi},
    {"", 1},
}};

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_ascii_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_ascii_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != b[i]) return false;
  }
  return true;
}

std::optional<byte_size> fail(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return std::nullopt;
}

}  // namespace

std::optional<byte_size> parse_byte_size(std::string_view text,
                                         bool allow_percent,
                                         std::string* why) {
  text = trim(text);
  if (text.empty()) return fail(why, "empty size");
  if (text.front() == '-') return fail(why, "a size cannot be negative");

  // Digits with at most one decimal point: the number part.
  std::size_t end = 0;
  bool seen_point = false;
  std::uint64_t whole = 0;
  double fraction = 0.0;
  double fraction_scale = 0.1;
  bool any_digit = false;
  for (; end < text.size(); ++end) {
    const char c = text[end];
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (!is_ascii_digit(c)) break;
    any_digit = true;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (seen_point) {
      fraction += static_cast<double>(digit) * fraction_scale;
      fraction_scale /= 10.0;
    } else {
      if (whole > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        return fail(why, "size is larger than 2^64-1 bytes");
      }
      whole = whole * 10 + digit;
    }
  }
  if (!any_digit) return fail(why, "a size starts with a number, as in 512MiB or 4GiB");
  const std::string_view suffix = trim(text.substr(end));

  if (suffix == "%") {
    if (!allow_percent) return fail(why, "a share of memory (N%) is not allowed here");
    const double percent = static_cast<double>(whole) + fraction;
    if (percent <= 0.0 || percent > 100.0) return fail(why, "a share must be in (0%, 100%]");
    return byte_size{std::nullopt, percent};
  }

  for (const unit& u : kUnits) {
    if (!equals_ignoring_case(suffix, u.name)) continue;
    if (u.multiplier == 1 && seen_point && fraction != 0.0) {
      return fail(why, "a number of bytes must be whole");
    }
    if (whole > std::numeric_limits<std::uint64_t>::max() / u.multiplier) {
      return fail(why, "size is larger than 2^64-1 bytes");
    }
    std::uint64_t bytes = whole * u.multiplier;
    const auto extra =
        static_cast<std::uint64_t>(std::floor(fraction * static_cast<double>(u.multiplier)));
    if (bytes > std::numeric_limits<std::uint64_t>::max() - extra) {
      return fail(why, "size is larger than 2^64-1 bytes");
    }
    bytes += extra;
    return byte_size{bytes, std::nullopt};
  }
  return fail(why,
              "unknown unit '" + std::string(suffix) +
                  "' (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB, K, M, G, T" +
                  (allow_percent ? " or %)" : ")"));
}

std::optional<std::uint64_t> parse_bytes(std::string_view text, std::string* why) {
  const auto size = parse_byte_size(text, /*allow_percent=*/false, why);
  if (!size) return std::nullopt;
  return size->bytes;
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr std::array<const char*, 5> kNames{"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < kKi) return std::to_string(bytes) + " B";
  auto value = static_cast<double>(bytes);
  std::size_t index = 0;
  while (value >= 1024.0 && index + 1 < kNames.size()) {
    value /= 1024.0;
    ++index;
  }
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.1f %s", value, kNames[index]);
  return text.data();
}

}  // namespace gpumem::core
