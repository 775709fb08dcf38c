#pragma once
// What a gpumem configuration may say: the process options, the layers of a stack and each
// layer's options, with types, defaults and meanings. One table drives the parser, the
// validation messages, `gpumem check` and README's table of keys.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace gpumem::config {

/// The smallest arena that can serve anything: one 4 MiB superblock (the arena's unit;
/// stack_builder.cpp checks that the two agree).
inline constexpr std::uint64_t kSmallestArena = std::uint64_t{4} << 20;

/// The type of an option's value.
enum class option_type {
  size,           ///< bytes: 4096, "512MiB", "1.5GB"
  size_or_share,  ///< bytes, or a share of the device's total memory: "50%"
  size_list,      ///< a list of sizes: ["256KiB", "1MiB"]
  boolean,        ///< true / false
  count,          ///< a whole number >= 0
  choice,         ///< one of a few words
  text,           ///< a string (a file name; "{pid}" becomes the process id)
};

/// What a value must be beyond its type (checked when the configuration is loaded, so
/// `gpumem check` and the shim refuse the same values). Flags, or-ed together.
enum option_check : std::uint8_t {
  no_check = 0,
  more_than_zero = 1,         ///< a size: 0 B is refused
  power_of_two = 2,           ///< a size: a power of two
  at_least_a_superblock = 4,  ///< a size: at least kSmallestArena
  folder_exists = 8,          ///< a file to write: its folder exists and may be written
  required = 16,              ///< the layer needs a value (none, or an empty one, is refused)
  not_above_maximum = 32,     ///< a size: not above the layer's is_maximum option
  is_maximum = 64,            ///< a size: the most the layer takes
  may_exceed_device = 128,    ///< a size: may be above the device's memory (a threshold)
};

/// One option of the process or of a layer.
struct option_spec {
  std::string_view key;
  option_type type;
  std::string_view default_text;  ///< the default as written in a file; "" when there is none
  std::string_view meaning;
  std::span<const std::string_view> choices = {};  ///< for option_type::choice
  std::uint8_t checks = no_check;                  ///< option_check flags
  /// What no value means, as `gpumem check` and `gpumem keys` show it: "none", or a default
  /// the shim works out ("automatic", explained in `meaning`).
  std::string_view unset_text = "none";

  [[nodiscard]] constexpr bool checked(option_check check) const noexcept {
    return (checks & check) != 0;
  }
};

/// What a layer is in a stack.
enum class layer_role {
  source,         ///< where memory comes from: the bottom of a stack
  sub_allocator,  ///< carves blocks from the memory of the layer below
  adaptor,        ///< adds something (counting, logging, a limit) in front of the layer below
};

/// One kind of layer.
struct layer_spec {
  std::string_view name;
  layer_role role;
  std::string_view meaning;
  std::span<const option_spec> options;
};

/// The process options (top-level keys of a file; GPUMEM_<KEY> in the environment).
std::span<const option_spec> process_options();

/// Every layer a stack may name.
std::span<const layer_spec> layers();

/// The layer called `name`, or null.
const layer_spec* find_layer(std::string_view name);

/// The option `key` of a list of options, or null.
const option_spec* find_option(std::span<const option_spec> options, std::string_view key);

/// The type's name in messages ("a size such as 512MiB").
std::string_view describe(option_type type);

/// The environment variable of a process option: GPUMEM_<KEY> ("report" -> GPUMEM_REPORT).
std::string process_variable(std::string_view key);

/**
 * @brief The prefix of the variables of a stack's table: "GPUMEM_" for "[device]",
 * "GPUMEM_MANAGED_" for "[managed]", "GPUMEM_DEVICE<N>_" for "[devices.<N>]".
 * @param table the table as written in messages, brackets included
 */
std::string variable_prefix(std::string_view table);

/// A stack's list: the prefix and STACK (GPUMEM_STACK, GPUMEM_DEVICE1_STACK).
std::string stack_variable(std::string_view table);

/// A layer's option: the prefix, the layer and the key in capitals
/// (GPUMEM_MANAGED_POOL_INITIAL_SIZE).
std::string layer_variable(std::string_view table, std::string_view layer, std::string_view key);

}  // namespace gpumem::config
