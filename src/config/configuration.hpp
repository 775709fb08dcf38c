#pragma once
// A gpumem configuration as read from a TOML file and GPUMEM_* environment variables, with
// where every value came from, and the problems found in it. See README.md "Configuration".

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config/schema.hpp"
#include "core/byte_size.hpp"

namespace gpumem::config {

/// Where a value came from.
struct origin {
  enum class source { default_value, file, environment };
  source from = source::default_value;
  std::string where;  ///< "pool.toml:12:3" for a file, the variable's name for the environment

  /// "default", "pool.toml:12:3" or "environment GPUMEM_POOL_INITIAL_SIZE".
  [[nodiscard]] std::string describe() const;
};

/// A value of an option: a size or share, a list of sizes, a boolean, a count or a word/text.
using option_value =
    std::variant<core::byte_size, std::vector<std::uint64_t>, bool, std::uint64_t, std::string>;

/// An option's value and where it came from.
struct option_setting {
  option_value value;
  origin from;
};

/// GPUMEM_* variables as name/value pairs (the process environment, or a test's).
using environment = std::vector<std::pair<std::string, std::string>>;

/// Every GPUMEM_* variable of this process.
environment process_environment();

/// A layer of a resolved stack with every option's effective value.
struct resolved_layer {
  std::string name;
  const layer_spec* spec;
  std::vector<std::pair<const option_spec*, std::optional<option_setting>>>
      options;  ///< nullopt: no value (none)
};

/// The stack a device's allocations go through, every value effective.
struct resolved_stack {
  std::string label;  ///< the table that describes it: "[device]", "[managed]", "[devices.1]"
  std::vector<resolved_layer> layers;
  origin layers_from;
  bool own_layers = true;  ///< false: a [devices.N] stack on [device]'s list of layers
};

struct settings;  // what a file and the environment say, before resolution (loading.hpp)

/// A whole configuration.
class configuration {
 public:
  /// The defaults: no file, no environment.
  configuration();

  /**
   * @brief Reads `file` (when given; GPUMEM_CONFIG names one otherwise) and the GPUMEM_*
   * variables of `env`, environment over file over defaults. Never throws for bad input:
   * every problem is in errors().
   */
  static configuration load(std::optional<std::string> file, const environment& env);

  /// Problems, each a line starting "gpumem: " that names the place and what is allowed.
  [[nodiscard]] const std::vector<std::string>& errors() const noexcept { return errors_; }
  /// Whether there is no problem.
  [[nodiscard]] bool valid() const noexcept { return errors_.empty(); }
  /**
   * @brief The problems a running program may ignore, a subset of errors(): an unknown
   * `GPUMEM_*` variable, options left without their layer by a stack override. `gpumem check`
   * reports them as errors; the shim warns and runs.
   */
  [[nodiscard]] const std::vector<std::string>& tolerable_problems() const noexcept {
    return tolerable_;
  }
  /// Whether every problem is one a running program may ignore.
  [[nodiscard]] bool valid_to_run() const noexcept { return errors_.size() == tolerable_.size(); }
  /// The file read, if any.
  [[nodiscard]] const std::optional<std::string>& file() const noexcept { return file_; }

  /// A process option's effective value (a default when not set).
  [[nodiscard]] const option_setting& process(std::string_view key) const;
  /// The word of a choice option, the text of a text option.
  [[nodiscard]] const std::string& process_text(std::string_view key) const;

  /// The stack of device memory (cudaMalloc, cudaMallocAsync) for `device`: its override's,
  /// or [device]'s (any device without one, and -1).
  [[nodiscard]] const resolved_stack& device_stack(int device) const;
  /// The stack of managed memory (cudaMallocManaged).
  [[nodiscard]] const resolved_stack& managed_stack() const noexcept { return managed_; }
  /// The devices with an override ([devices.N] or GPUMEM_DEVICE<N>_*).
  [[nodiscard]] std::vector<int> overridden_devices() const;

  /**
   * @brief Checks what needs the device's memory size (a share, initial against maximum) in
   * device_stack(device) for a device of `total_bytes`; returns the problems (none when valid).
   */
  [[nodiscard]] std::vector<std::string> check_for_device(int device,
                                                          std::uint64_t total_bytes) const;

 private:
  /// The process options and stacks `read` describes, each stack resolved once.
  explicit configuration(const settings& read);

  std::map<std::string, option_setting, std::less<>> process_;
  resolved_stack device_;                    ///< [device]
  resolved_stack managed_;                   ///< [managed]
  std::map<int, resolved_stack> overrides_;  ///< [devices.N]
  std::vector<std::string> errors_;
  std::vector<std::string> tolerable_;  ///< the errors a running program may ignore
  std::optional<std::string> file_;
};

/// The bytes of a size or share for a device of `total_bytes` (a share rounds down to 256).
std::uint64_t bytes_of(const core::byte_size& size, std::uint64_t total_bytes);

/// The default device stack and managed stack, outermost first.
const std::vector<std::string>& default_device_stack();
const std::vector<std::string>& default_managed_stack();

/// The most problems a command or the shim prints; a count stands for the rest.
inline constexpr std::size_t kShownProblems = 50;

/**
 * @brief The first `most` of `problems`, then one line counting the rest (when there are more):
 * a file of many mistakes gives a screenful, not a flood.
 */
std::vector<std::string> shown_problems(const std::vector<std::string>& problems,
                                        std::size_t most = kShownProblems);

}  // namespace gpumem::config
