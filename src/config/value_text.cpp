// Values written as text: read into an option's value, and shown in messages.

#include "config/value_text.hpp"

#include <algorithm>

#include "config/near_miss.hpp"
#include "core/ascii.hpp"

namespace gpumem::config {

std::string upper(std::string_view text) {
  std::string result{text};
  for (char& c : result)
    c = core::ascii_upper(c);
  return result;
}

std::string lower(std::string_view text) {
  std::string result{text};
  for (char& c : result)
    c = core::ascii_lower(c);
  return result;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && core::is_ascii_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && core::is_ascii_space(text.back()))
    text.remove_suffix(1);
  return text;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (true) {
    const auto comma = text.find(',');
    items.emplace_back(trim(text.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

namespace {

/// The length of the UTF-8 sequence at the start of `text`, or 0 when it is not one.
std::size_t utf8_sequence(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  const std::size_t length = lead < 0x80           ? 1
                             : (lead >> 5) == 0x6  ? 2
                             : (lead >> 4) == 0xe  ? 3
                             : (lead >> 3) == 0x1e ? 4
                                                   : 0;
  if (length == 0 || length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

std::string escaped(std::string_view text) {
  std::string result;
  while (!text.empty()) {
    const auto byte = static_cast<unsigned char>(text[0]);
    const std::size_t length = utf8_sequence(text);
    if (length == 0 || byte < 0x20 || byte == 0x7f) {
      constexpr std::string_view kDigits = "0123456789abcdef";
      result += "\\x";
      result += kDigits[byte >> 4];
      result += kDigits[byte & 0xf];
      text.remove_prefix(1);
    } else {
      result += text.substr(0, length);
      text.remove_prefix(length);
    }
  }
  return result;
}

std::string shown(std::string_view text) {
  constexpr std::size_t kLongest = 60;
  if (text.size() <= kLongest) return escaped(text);
  std::size_t cut = kLongest;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
    --cut;  // not inside a character
  return escaped(text.substr(0, cut)) + "...";
}

std::string choices_of(const option_spec& spec) {
  std::string text;
  for (const auto choice : spec.choices)
    text += (text.empty() ? "" : ", ") + std::string{choice};
  return text;
}

std::optional<option_value> from_text(std::string_view text,
                                      const option_spec& spec,
                                      std::string& why) {
  switch (spec.type) {
    case option_type::size:
    case option_type::size_or_share: {
      if (trim(text).empty() || lower(trim(text)) == "none") return core::byte_size{};
      if (spec.type == option_type::size && trim(text).ends_with('%')) {
        why = "a share (N%) is not allowed here, only bytes, as in 4096 or \"512MiB\"";
        return std::nullopt;
      }
      auto size = core::parse_byte_size(text, spec.type == option_type::size_or_share, &why);
      if (!size) return std::nullopt;
      return *size;
    }
    case option_type::size_list: {
      std::vector<std::uint64_t> sizes;
      for (const std::string& item : split_list(text)) {
        auto bytes = core::parse_bytes(item, &why);
        if (!bytes) {
          why = item.empty() ? "an empty item in the list (two commas?)"
                             : "'" + shown(item) + "': " + why;
          return std::nullopt;
        }
        sizes.push_back(*bytes);
      }
      return sizes;
    }
    case option_type::boolean: {
      const std::string word = lower(trim(text));
      if (word == "true" || word == "1" || word == "yes" || word == "on") return true;
      if (word == "false" || word == "0" || word == "no" || word == "off") return false;
      why = "expected true or false";
      return std::nullopt;
    }
    case option_type::count: {
      const std::string_view digits = trim(text);
      std::uint64_t count = 0;
      if (digits.empty() || !std::all_of(digits.begin(), digits.end(), core::is_ascii_digit)) {
        why = "expected a whole number, as in 16";
        return std::nullopt;
      }
      if (digits.size() > 18) {
        why = "a count has at most 18 digits";
        return std::nullopt;
      }
      for (const char c : digits)
        count = count * 10 + static_cast<std::uint64_t>(c - '0');
      return count;
    }
    case option_type::choice: {
      const std::string word = lower(trim(text));
      if (std::find(spec.choices.begin(), spec.choices.end(), word) != spec.choices.end())
        return word;
      why = "not one of " + choices_of(spec);
      if (auto near = nearest(word, spec.choices)) why += "; did you mean " + *near + "?";
      return std::nullopt;
    }
    case option_type::text:
      return std::string{text};
  }
  return std::nullopt;
}

option_value default_value(const option_spec& spec) {
  std::string text{spec.default_text};
  std::erase_if(text, [](char c) { return c == '[' || c == ']' || c == '"'; });  // a list's
  std::string why;
  // Every default reads back ("" is none).
  return from_text(text, spec, why).value_or(core::byte_size{});
}

}  // namespace gpumem::config
