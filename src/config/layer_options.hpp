#pragma once
// Typed reading of a resolved layer's options, for the code that builds layers.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/configuration.hpp"
#include "gpumem/aligned.hpp"

namespace gpumem::config {

/// Reads a resolved layer's options.
class layer_options {
 public:
  layer_options(const resolved_layer& layer, std::uint64_t total_bytes)
      : layer_{layer}, total_{total_bytes} {}

  [[nodiscard]] const option_setting* find(std::string_view key) const {
    for (const auto& [spec, value] : layer_.options) {
      if (spec->key == key && value) return &*value;
    }
    return nullptr;
  }
  /// A size in bytes (shares resolved against the device); nullopt for "none".
  [[nodiscard]] std::optional<std::size_t> bytes(std::string_view key) const {
    const option_setting* setting = find(key);
    if (setting == nullptr) return std::nullopt;
    const auto& size = std::get<core::byte_size>(setting->value);
    if (!size.bytes && !size.percent) return std::nullopt;
    return static_cast<std::size_t>(bytes_of(size, total_));
  }
  /// A size rounded down to CUDA's 256-byte granularity, as the sub-allocators require.
  [[nodiscard]] std::optional<std::size_t> aligned_bytes(std::string_view key) const {
    auto value = bytes(key);
    if (value) *value = align_down(*value, CUDA_ALLOCATION_ALIGNMENT);
    return value;
  }
  [[nodiscard]] bool flag(std::string_view key) const {
    const option_setting* setting = find(key);
    return setting != nullptr && std::get<bool>(setting->value);
  }
  [[nodiscard]] std::uint64_t count(std::string_view key) const {
    const option_setting* setting = find(key);
    return setting == nullptr ? 0 : std::get<std::uint64_t>(setting->value);
  }
  [[nodiscard]] std::string text(std::string_view key) const {
    const option_setting* setting = find(key);
    return setting == nullptr ? std::string{} : std::get<std::string>(setting->value);
  }
  [[nodiscard]] std::vector<std::uint64_t> sizes(std::string_view key) const {
    const option_setting* setting = find(key);
    return setting == nullptr ? std::vector<std::uint64_t>{}
                              : std::get<std::vector<std::uint64_t>>(setting->value);
  }

 private:
  const resolved_layer& layer_;
  std::uint64_t total_;
};

}  // namespace gpumem::config
