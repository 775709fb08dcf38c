#pragma once
// Character classes of ASCII text, for configuration values, variable names and units. Unlike
// <cctype>'s functions these take any char (isdigit(c) is undefined for a negative char, which
// every byte of a non-ASCII UTF-8 character is where char is signed) and ignore the locale
// (the shim reads its configuration inside programs that may set one): a byte outside ASCII
// is never a digit, a space or a letter, and case conversion leaves it as it is.

namespace gpumem::core {

constexpr bool is_ascii_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// ' ', '\t', '\n', '\v', '\f' and '\r': what std::isspace finds in the "C" locale.
constexpr bool is_ascii_space(char c) noexcept {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr char ascii_upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

}  // namespace gpumem::core
