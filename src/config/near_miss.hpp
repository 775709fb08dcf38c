#pragma once
// "Did you mean ...?": the known word nearest a mistyped one.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gpumem::config {

/// Edits (insert, delete, replace, swap two neighbours) between two words, ignoring case.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate nearest `word`, when it is near enough to be a typo of it (a third of the
/// word's letters, at least one and at most three edits).
std::optional<std::string> nearest(std::string_view word,
                                   std::span<const std::string_view> candidates);

}  // namespace gpumem::config
