#pragma once
// The table of every configuration key, generated from the schema: what `gpumem keys` prints
// and README.md's "Configuration keys" holds, so the two can never drift apart.

#include <string>

namespace gpumem::config {

/**
 * @brief Every setting as a Markdown table: the TOML key (with its table), the environment
 * variable, the type, the default and the meaning. Process options first, then the stacks'
 * lists, then each layer's options, then the rows that say how [managed] and [devices.N]
 * name the same options.
 * @return the table, one row a line, ending in a newline
 */
std::string markdown_key_table();

}  // namespace gpumem::config
