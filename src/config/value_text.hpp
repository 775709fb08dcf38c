#pragma once
// Values written as text: read into an option's value (a variable, a string in a file, a
// default), and shown in a message (escaped, cut short). Internal to the configuration.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/configuration.hpp"

namespace gpumem::config {

/// `text` in capitals (ASCII).
std::string upper(std::string_view text);
/// `text` in small letters (ASCII).
std::string lower(std::string_view text);
/// `text` without the spaces around it.
std::string_view trim(std::string_view text);
/// The comma-separated items of `text`, each trimmed ("a, ,b" gives "a", "", "b").
std::vector<std::string> split_list(std::string_view text);

/// A message made safe for a terminal: control characters and bytes that are not UTF-8 become
/// \xNN, so it stays one line and shows what was written.
std::string escaped(std::string_view text);
/// A value as a message shows it: escaped, long values cut short.
std::string shown(std::string_view text);
/// The words a choice option allows, as a message lists them ("off, text, json").
std::string choices_of(const option_spec& spec);

/**
 * @brief Reads `text` (a variable, a default, a string in a file) as a value of `spec`.
 * @param why set to the reason when the text is not such a value
 * @return the value, or nullopt (and `why`)
 */
std::optional<option_value> from_text(std::string_view text,
                                      const option_spec& spec,
                                      std::string& why);

/// An option's default as a value (read from its text as a file writes it).
option_value default_value(const option_spec& spec);

}  // namespace gpumem::config
