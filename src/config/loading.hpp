#pragma once
// The steps of configuration::load, each in its own file: read the file (toml_reader.cpp) and
// the environment (environment_reader.cpp) into settings, resolve each stack once
// (resolution.cpp), and validate the resolved stacks in one pass (validation.cpp). Internal
// to the configuration.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/configuration.hpp"

namespace gpumem::config {

/// A stack as one scope describes it: [device], [managed] or [devices.N].
struct stack_settings {
  std::optional<std::vector<std::string>> layers;  ///< outermost first; absent: not said here
  origin layers_from;
  std::map<std::string, std::map<std::string, option_setting>> options;  ///< layer -> key -> value
};

/// What the file and the environment say, environment over file, before stacks are resolved.
struct settings {
  std::map<std::string, option_setting, std::less<>> process;  ///< only the options given
  stack_settings device;
  stack_settings managed;
  std::map<int, stack_settings> overrides;  ///< [devices.N] and GPUMEM_DEVICE<N>_*
};

/// The problems found while loading, in the order found.
struct problem_list {
  std::vector<std::string> errors;     ///< every problem
  std::vector<std::string> tolerable;  ///< those a running program may ignore, also in errors

  /// Adds "gpumem: <where>: <message>", escaped so it stays one line.
  void error(const std::string& where, const std::string& message);
  /// Adds an error a running program may ignore (see configuration::tolerable_problems).
  void tolerable_error(const std::string& where, const std::string& message);
};

/**
 * @brief Reads the TOML file `path` into `into`; its problems are sorted by line and column.
 * @param named_by what named the file, put before its path when it cannot be read
 * ("GPUMEM_CONFIG=", or "")
 */
void read_file(const std::string& path,
               const std::string& named_by,
               settings& into,
               problem_list& problems);

/// Reads the GPUMEM_* variables of `env` into `into` (over what the file said).
void read_environment(const environment& env, settings& into, problem_list& problems);

/**
 * @brief A stack with every value effective: the scope's own layers (an override without
 * them: [device]'s; a scope without them: `default_layers`), each option the scope's value,
 * else [device]'s (for an override), else its default.
 * @param label the scope's table as messages name it: "[device]", "[managed]", "[devices.1]"
 * @param device_wide [device]'s settings for an override, null for [device] and [managed]
 */
resolved_stack resolve(std::string label,
                       const stack_settings& own,
                       const stack_settings* device_wide,
                       const std::vector<std::string>& default_layers);

/**
 * @brief The one validation pass over `config`'s resolved stacks: each stack's shape (known
 * layers, each once, the right source last), the options given for a layer it lacks, and the
 * constraints of every value (option_check); and the folders of the process's files. Value
 * problems are reported only when nothing else is wrong but what a running program may ignore
 * (a wrong stack's values say little).
 * @param read the settings the stacks were resolved from (for the options of absent layers)
 */
void validate(const configuration& config, const settings& read, problem_list& problems);

}  // namespace gpumem::config
