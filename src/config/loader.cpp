// Reading a configuration: a TOML file (toml++, header-only in this one file) and GPUMEM_*
// variables, into a configuration with an origin for every value and a message for every
// problem. Nothing here throws for bad input, and nothing touches CUDA.

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/configuration.hpp"
#include "config/near_miss.hpp"
#include "core/ascii.hpp"

extern char** environ;

namespace gpumem::config {

std::string origin::describe() const {
  switch (from) {
    case source::default_value:
      return "default";
    case source::file:
      return where;
    case source::environment:
      return "environment " + where;
  }
  return where;
}

environment process_environment() {
  environment variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text = *entry;
    if (!text.starts_with("GPUMEM_")) continue;
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    variables.emplace_back(std::string{text.substr(0, equals)},
                           std::string{text.substr(equals + 1)});
  }
  return variables;
}

const std::vector<std::string>& default_device_stack() {
  static const std::vector<std::string> stack{"pool", "expandable"};
  return stack;
}

const std::vector<std::string>& default_managed_stack() {
  static const std::vector<std::string> stack{"statistics", "managed"};
  return stack;
}

std::uint64_t bytes_of(const core::byte_size& size, std::uint64_t total_bytes) {
  if (size.bytes) return *size.bytes;
  if (size.percent) {
    const auto share =
        static_cast<std::uint64_t>(static_cast<double>(total_bytes) * *size.percent / 100.0);
    return share / 256 * 256;
  }
  return 0;
}

namespace {

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

/// A message made safe for a terminal: control characters and bytes that are not UTF-8
/// become \xNN, so it stays one line and shows what was written.
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

/// A value as a message shows it: escaped, long values cut short.
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

std::string node_kind(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "a list";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "a whole number";
    case toml::node_type::floating_point:
      return "a fraction";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date or time";
  }
}

/// Converts one value written as text (the environment, a default, a string in a file).
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

/// Converts a TOML value; only the natural TOML types and strings are accepted.
std::optional<option_value> from_node(const toml::node& node,
                                      const option_spec& spec,
                                      std::string& why) {
  if (const auto* text = node.as_string()) return from_text(text->get(), spec, why);
  switch (spec.type) {
    case option_type::size:
    case option_type::size_or_share:
    case option_type::count:
      if (const auto* integer = node.as_integer()) {
        if (integer->get() < 0) {
          why = "a " + std::string{spec.type == option_type::count ? "count" : "size"} +
                " cannot be negative";
          return std::nullopt;
        }
        const auto value = static_cast<std::uint64_t>(integer->get());
        if (spec.type == option_type::count) return value;
        return core::byte_size{value, std::nullopt};
      }
      if (node.is_floating_point()) {
        why = spec.type == option_type::count ? "expected a whole number, found a fraction"
                                              : "a fraction needs a unit, as a string: \"1.5GiB\"";
        return std::nullopt;
      }
      break;
    case option_type::boolean:
      if (const auto* flag = node.as_boolean()) return flag->get();
      break;
    case option_type::size_list:
      if (const auto* list = node.as_array()) {
        std::vector<std::uint64_t> sizes;
        for (const toml::node& item : *list) {
          option_spec one = spec;
          one.type = option_type::size;
          auto size = from_node(item, one, why);
          if (!size || !std::get<core::byte_size>(*size).bytes) {
            if (size) why = "a bin needs a size";
            // Name the item: the position points at the list.
            const auto* text = item.as_string();
            why = "item " + std::to_string(sizes.size() + 1) +
                  (text ? " \"" + shown(text->get()) + "\"" : "") + ": " + why;
            return std::nullopt;
          }
          sizes.push_back(*std::get<core::byte_size>(*size).bytes);
        }
        return sizes;
      }
      break;
    default:
      break;
  }
  if (spec.type == option_type::choice) {
    why = "expected one of " + choices_of(spec) + ", found " + node_kind(node);
    return std::nullopt;
  }
  why = "expected " + std::string{describe(spec.type)} + ", found " + node_kind(node);
  return std::nullopt;
}

/// Whether `place` (1-based line and column, in characters) is at or past the end of its line.
bool at_line_end(std::string_view text, const toml::source_position& place) {
  for (toml::source_index line = 1; line < place.line; ++line) {
    const auto newline = text.find('\n');
    if (newline == std::string_view::npos) return true;
    text.remove_prefix(newline + 1);
  }
  text = text.substr(0, text.find('\n'));
  if (text.ends_with('\r')) text.remove_suffix(1);
  const auto characters =
      static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
      }));
  return place.column > characters;
}

/// " = <value>" for a string, number or boolean as the file has it; "" for a table, list or
/// date, which the reason names ("found a table").
std::string written_value(const toml::node& node) {
  if (const auto* text = node.as_string()) return " = \"" + shown(text->get()) + "\"";
  if (const auto* integer = node.as_integer()) return " = " + std::to_string(integer->get());
  if (const auto* flag = node.as_boolean()) return flag->get() ? " = true" : " = false";
  if (const auto* fraction = node.as_floating_point()) {
    std::ostringstream number;
    number << fraction->get();
    return " = " + number.str();
  }
  return "";
}

std::string position(const std::string& file, const toml::source_region& region) {
  return file + ":" + std::to_string(region.begin.line) + ":" + std::to_string(region.begin.column);
}

}  // namespace

/// Fills a configuration from a file and the environment.
class loader {
 public:
  explicit loader(configuration& target) : config_{target} {}

  void read_file(const std::string& path, const std::string& named_by) {
    config_.file_ = path;
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored)) {
      error(named_by + path, "cannot read the configuration: it is a folder, not a file");
      return;
    }
    std::ifstream stream{path, std::ios::binary};
    if (!stream) {
      error(named_by + path, std::string{"cannot read the configuration: "} + std::strerror(errno));
      return;
    }
    std::stringstream contents;
    contents << stream.rdbuf();
    if (stream.bad()) {
      error(named_by + path, std::string{"cannot read the configuration: "} + std::strerror(errno));
      return;
    }
    const std::string text = contents.str();
    toml::parse_result parsed = toml::parse(text, path);
    if (!parsed) {
      const toml::parse_error& failure = parsed.error();
      std::string description{failure.description()};
      // toml++'s words, but plain ones for the mistakes a gpumem file most often meets.
      if (description.find("utf-8") != std::string::npos) {
        description += " (the file must be UTF-8)";
      } else if (description.find("not representable in 64 bits") != std::string::npos) {
        description =
            "a whole number is at most 2^63-1; write a large size as a string with a unit, as in "
            "\"4TiB\"";
      } else if (description.find("unescaped control characters") != std::string::npos &&
                 at_line_end(text, failure.source().begin)) {
        description = "a string is not closed: its closing \" is missing on this line";
      }
      error(position(path, failure.source()), "not valid TOML: " + description);
      return;
    }
    const std::size_t first = config_.errors_.size();
    read_top_level(parsed.table(), path);
    in_file_order(first, path);
  }

  void read_environment(const environment& env) {
    for (const auto& [name, value] : env) {
      if (trim(value).empty()) continue;  // an empty variable means its default
      read_variable(name, value);
    }
  }

  void validate();

 private:
  /// Sorts the file's messages from `first` on by line and column: toml++ keeps a table's keys
  /// in alphabetical order, a reader fixes a file from the top.
  void in_file_order(std::size_t first, const std::string& path) {
    const std::string prefix = "gpumem: " + escaped(path) + ":";
    const auto place = [&prefix](const std::string& message) {
      std::pair<unsigned long, unsigned long> line_column{0, 0};
      if (!message.starts_with(prefix)) return line_column;
      char* end = nullptr;
      line_column.first = std::strtoul(message.c_str() + prefix.size(), &end, 10);
      if (end != nullptr && *end == ':') line_column.second = std::strtoul(end + 1, nullptr, 10);
      return line_column;
    };
    auto& errors = config_.errors_;
    std::stable_sort(
        errors.begin() + static_cast<std::ptrdiff_t>(first),
        errors.end(),
        [&place](const std::string& a, const std::string& b) { return place(a) < place(b); });
  }

  void error(const std::string& where, const std::string& message) {
    config_.errors_.push_back("gpumem: " + escaped(where + ": " + message));
  }

  /// An error a running program may ignore (see configuration::tolerable_problems).
  void tolerable_error(const std::string& where, const std::string& message) {
    error(where, message);
    config_.tolerable_.push_back(config_.errors_.back());
  }

  // --- the file

  void read_top_level(const toml::table& table, const std::string& path) {
    for (const auto& [key, node] : table) {
      const std::string name{key.str()};
      const std::string where = position(path, node.source());
      if (const option_spec* spec = find_option(process_options(), name)) {
        if (auto setting = convert(node, *spec, where, name))
          config_.process_[name] = std::move(*setting);
      } else if (name == "device" || name == "managed") {
        if (!node.is_table()) {
          error(where, "[" + name + "] must be a table, found " + node_kind(node));
          continue;
        }
        read_stack_table(*node.as_table(),
                         name == "device" ? config_.device_ : config_.managed_,
                         "[" + name + "]",
                         path);
      } else if (name == "devices") {
        read_devices(node, path, where);
      } else {
        std::vector<std::string> known{"device", "managed", "devices"};
        for (const auto& option : process_options())
          known.emplace_back(option.key);
        unknown(position(path, key.source()), "unknown key '" + shown(name) + "'", name, known);
      }
    }
  }

  void read_devices(const toml::node& node, const std::string& path, const std::string& where) {
    if (!node.is_table()) {
      error(where, "[devices] must hold tables such as [devices.1], found " + node_kind(node));
      return;
    }
    for (const auto& [key, entry] : *node.as_table()) {
      const std::string name{key.str()};
      const std::string entry_where = position(path, entry.source());
      const bool numeric =
          !name.empty() && std::all_of(name.begin(), name.end(), core::is_ascii_digit);
      if (!numeric) {
        error(position(path, key.source()),
              "[devices." + shown(name) + "]: a device is named by its number, as in [devices.1]");
        continue;
      }
      if (name.size() > 3) {
        error(position(path, key.source()),
              "[devices." + shown(name) + "]: a device number is 0 to 999");
        continue;
      }
      if (!entry.is_table()) {
        error(entry_where, "[devices." + name + "] must be a table, found " + node_kind(entry));
        continue;
      }
      read_stack_table(
          *entry.as_table(), config_.overrides_[std::stoi(name)], "[devices." + name + "]", path);
    }
  }

  void read_stack_table(const toml::table& table,
                        stack_settings& stack,
                        const std::string& label,
                        const std::string& path) {
    for (const auto& [key, node] : table) {
      const std::string name{key.str()};
      const std::string where = position(path, node.source());
      if (name == "stack") {
        read_stack_list(node, stack, label, where);
      } else if (const layer_spec* layer = find_layer(name)) {
        if (!node.is_table()) {
          error(where,
                label + " " + name + ": the options of a layer are a table, as in " +
                    label.substr(0, label.size() - 1) + "." + name + "], found " + node_kind(node));
          continue;
        }
        for (const auto& [option_key, option_node] : *node.as_table()) {
          const std::string option_name{option_key.str()};
          const std::string option_where = position(path, option_node.source());
          const std::string subject =
              label.substr(0, label.size() - 1) + "." + name + "] " + option_name;
          const std::string key_where = position(path, option_key.source());
          if (const option_spec* spec = find_option(layer->options, option_name)) {
            if (auto setting = convert(option_node, *spec, option_where, subject)) {
              stack.options[name][option_name] = std::move(*setting);
            }
          } else if (layer->options.empty()) {
            error(key_where,
                  label.substr(0, label.size() - 1) + "." + name + "] " + shown(option_name) +
                      ": the " + name + " layer has no options");
          } else {
            std::vector<std::string> known;
            for (const auto& option : layer->options)
              known.emplace_back(option.key);
            unknown(key_where,
                    label.substr(0, label.size() - 1) + "." + name + "]: unknown key '" +
                        shown(option_name) + "'",
                    option_name,
                    known);
          }
        }
      } else {
        std::vector<std::string> known{"stack"};
        for (const auto& layer_entry : layers())
          known.emplace_back(layer_entry.name);
        unknown(position(path, key.source()),
                label + ": unknown key '" + shown(name) + "': a key is stack or a layer's name",
                name,
                known);
      }
    }
  }

  void read_stack_list(const toml::node& node,
                       stack_settings& stack,
                       const std::string& label,
                       const std::string& where) {
    const auto* list = node.as_array();
    if (list == nullptr) {
      error(where,
            label +
                " stack: expected a list of layers such as [\"statistics\", \"pool\", \"cuda\"], "
                "found " +
                node_kind(node));
      return;
    }
    std::vector<std::string> layers_named;
    for (const toml::node& item : *list) {
      const auto* text = item.as_string();
      if (text == nullptr) {
        error(where,
              label + " stack: each layer is a name in quotes, as in [\"pool\", \"cuda\"], found " +
                  node_kind(item));
        return;
      }
      layers_named.emplace_back(text->get());
    }
    stack.layers = layers_named;
    stack.layers_from = origin{origin::source::file, where};
  }

  /// A file's value as a setting, or a message (and nothing) when it is not one.
  std::optional<option_setting> convert(const toml::node& node,
                                        const option_spec& spec,
                                        const std::string& where,
                                        const std::string& subject) {
    std::string why;
    if (auto value = from_node(node, spec, why))
      return option_setting{std::move(*value), origin{origin::source::file, where}};
    error(where, subject + written_value(node) + ": " + why);
    return std::nullopt;
  }

  void unknown(const std::string& where,
               const std::string& message,
               const std::string& word,
               const std::vector<std::string>& known) {
    std::vector<std::string_view> candidates(known.begin(), known.end());
    if (auto near = nearest(word, candidates); near && *near != word) {
      error(where, message + "; did you mean " + *near + "?");
      return;
    }
    std::string list;
    for (const auto& name : known)
      list += (list.empty() ? "" : ", ") + name;
    // A long list would not fit on a line; the command lists every key.
    constexpr std::size_t kLongestList = 80;
    error(where,
          message + (list.size() <= kLongestList ? " (known: " + list + ")"
                                                 : " (`gpumem keys` lists every key)"));
  }

  // --- the environment

  void read_variable(const std::string& name, const std::string& value) {
    // The file's name, the library's CSV default, the simulator's and the tests' own, and the
    // scripts' and `gpumem run`'s settings: not the shim's.
    static constexpr std::string_view kOthers[] = {"GPUMEM_CONFIG",
                                                   "GPUMEM_LOG_FILE",
                                                   "GPUMEM_BUILD_DIR",
                                                   "GPUMEM_CMAKE_ARGS",
                                                   "GPUMEM_GPU_DEPS",
                                                   "GPUMEM_PRELOAD_LIBRARY"};
    if (std::find(std::begin(kOthers), std::end(kOthers), name) != std::end(kOthers) ||
        name.starts_with("GPUMEM_SIM_") || name.starts_with("GPUMEM_TEST_")) {
      return;
    }
    const std::string where = shown(name) + "='" + shown(value) + "'";
    const std::string rest = name.substr(std::string_view{"GPUMEM_"}.size());
    for (const auto& option : process_options()) {
      if (rest == upper(option.key)) {
        if (auto setting = convert_text(value, option, name, where))
          config_.process_[std::string{option.key}] = *setting;
        return;
      }
    }
    stack_settings* scope = &config_.device_;
    std::string table = "[device]";
    std::string scoped = rest;
    if (scoped.starts_with("MANAGED_")) {
      scope = &config_.managed_;
      table = "[managed]";
      scoped = scoped.substr(8);
    } else if (scoped.starts_with("DEVICE")) {
      std::size_t digits = 6;
      while (digits < scoped.size() && core::is_ascii_digit(scoped[digits]))
        ++digits;
      if (digits > 6 && digits < scoped.size() && scoped[digits] == '_') {
        if (digits - 6 > 3) {
          error(where, "a device number is 0 to 999, as in GPUMEM_DEVICE1_STACK");
          return;
        }
        const int device = std::stoi(scoped.substr(6, digits - 6));
        table = "[devices." + std::to_string(device) + "]";
        scoped = scoped.substr(digits + 1);
        // The override exists only once something of it is known, so a misspelt variable
        // leaves no empty override behind.
        if (scoped == "STACK" || layer_option_of(scoped).has_value())
          scope = &config_.overrides_[device];
      }
    }
    if (scoped == "STACK") {
      std::vector<std::string> names = split_list(lower(value));
      // "," or " , " names nothing: the stack is empty, as [] is in a file.
      if (std::all_of(names.begin(), names.end(), [](const std::string& n) { return n.empty(); }))
        names.clear();
      scope->layers = std::move(names);
      scope->layers_from = origin{origin::source::environment, name};
      return;
    }
    if (const auto found = layer_option_of(scoped)) {
      const auto [layer, spec] = *found;
      if (auto setting = convert_text(value, *spec, name, where)) {
        scope->options[std::string{layer->name}][std::string{spec->key}] = std::move(*setting);
      }
      return;
    }
    std::vector<std::string> known = known_variables(table);
    std::vector<std::string_view> candidates(known.begin(), known.end());
    std::string message = "unknown variable";
    if (auto near = nearest(name, candidates))
      message += "; did you mean " + *near + "?";
    else
      message += " (see README.md, Configuration keys, for every variable)";
    tolerable_error(where, message);
  }

  /// The layer and option that <LAYER>_<KEY> names, if any.
  static std::optional<std::pair<const layer_spec*, const option_spec*>> layer_option_of(
      const std::string& scoped) {
    // The longest layer names first (CUDA_ASYNC before CUDA).
    std::vector<const layer_spec*> by_length;
    for (const auto& layer : layers())
      by_length.push_back(&layer);
    std::stable_sort(
        by_length.begin(), by_length.end(), [](const layer_spec* a, const layer_spec* b) {
          return a->name.size() > b->name.size();
        });
    for (const layer_spec* layer : by_length) {
      const std::string prefix = upper(layer->name) + "_";
      if (!scoped.starts_with(prefix)) continue;
      if (const option_spec* spec =
              find_option(layer->options, lower(scoped.substr(prefix.size())))) {
        return std::pair{layer, spec};
      }
    }
    return std::nullopt;
  }

  /// A variable's value as a setting, or a message (and nothing) when it is not one.
  std::optional<option_setting> convert_text(const std::string& value,
                                             const option_spec& spec,
                                             const std::string& name,
                                             const std::string& where) {
    std::string why;
    if (auto converted = from_text(value, spec, why)) {
      return option_setting{std::move(*converted), origin{origin::source::environment, name}};
    }
    error(where, why);
    return std::nullopt;
  }

  /// The variables a misspelt one may have meant: every plain and managed one, and those of
  /// the device it names ("[devices.1]": GPUMEM_DEVICE1_*).
  static std::vector<std::string> known_variables(const std::string& table) {
    std::vector<std::string> names{"GPUMEM_CONFIG"};
    for (const auto& option : process_options())
      names.push_back(process_variable(option.key));
    std::vector<std::string> tables{"[device]", "[managed]"};
    if (table.starts_with("[devices.")) tables.push_back(table);
    for (const std::string& scope : tables) {
      names.push_back(stack_variable(scope));
      for (const auto& layer : layers()) {
        for (const auto& option : layer.options)
          names.push_back(layer_variable(scope, layer.name, option.key));
      }
    }
    return names;
  }

  configuration& config_;
};

// --- validation of the stacks, once both sources are read

namespace {

struct scope_view {
  std::string label;  ///< "[device]", "[managed]", "[devices.1]"
  const std::vector<std::string>* layers;
  const origin* layers_from;
  const stack_settings* options;
  bool managed;
  bool own_layers;  ///< false: an override using [device]'s list, whose problems [device] reports
};

std::string where_of(const origin& from, const std::string& fallback) {
  return from.from == origin::source::default_value ? fallback : from.where;
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names)
    text += (text.empty() ? "" : ", ") + shown(name);
  return text;
}

/// A stack as its origin writes one: statistics,pool,cuda in a variable, ["statistics",
/// "pool", "cuda"] in a file.
std::string written(const std::vector<std::string>& names, const origin& from) {
  std::string text;
  const bool variable = from.from == origin::source::environment;
  for (const auto& name : names) {
    if (!text.empty()) text += variable ? "," : ", ";
    text += variable ? shown(name) : "\"" + shown(name) + "\"";
  }
  return variable ? text : "[" + text + "]";
}

}  // namespace

void loader::validate() {
  std::vector<scope_view> scopes;
  const auto effective = [](const stack_settings& stack, const std::vector<std::string>& fallback) {
    return stack.layers ? &*stack.layers : &fallback;
  };
  scopes.push_back({"[device]",
                    effective(config_.device_, default_device_stack()),
                    &config_.device_.layers_from,
                    &config_.device_,
                    false,
                    true});
  scopes.push_back({"[managed]",
                    effective(config_.managed_, default_managed_stack()),
                    &config_.managed_.layers_from,
                    &config_.managed_,
                    true,
                    true});
  const std::vector<std::string>& device_layers = *scopes[0].layers;
  for (const auto& [device, stack] : config_.overrides_) {
    scopes.push_back({"[devices." + std::to_string(device) + "]",
                      effective(stack, device_layers),
                      stack.layers ? &stack.layers_from : &config_.device_.layers_from,
                      &stack,
                      false,
                      stack.layers.has_value()});
  }

  for (const scope_view& scope : scopes) {
    const std::string where = where_of(*scope.layers_from, "default stack");
    const std::vector<std::string>& names = *scope.layers;
    const std::string described = scope.label + " stack (" + joined(names) + ")";
    if (scope.own_layers) {
      if (names.empty()) {
        const std::vector<std::string> example =
            scope.managed ? std::vector<std::string>{"statistics", "managed"}
                          : std::vector<std::string>{"statistics", "pool", "cuda"};
        error(where,
              scope.label + " stack is empty: name its layers down to a memory source, as in " +
                  written(example, *scope.layers_from));
        continue;
      }
      std::set<std::string> seen;
      bool shape_known = true;  // every layer known, each once, a source only at the bottom
      for (std::size_t i = 0; i < names.size(); ++i) {
        const layer_spec* layer = find_layer(names[i]);
        if (layer == nullptr) {
          shape_known = false;
          if (names[i].empty()) {
            error(where, described + ": a layer without a name (two commas?)");
            continue;
          }
          std::vector<std::string_view> candidates;
          for (const auto& known : layers())
            candidates.push_back(known.name);
          std::string message = described + ": unknown layer '" + shown(names[i]) + "'";
          if (auto near = nearest(names[i], candidates)) {
            message += "; did you mean " + *near + "?";
          } else {
            std::string list;
            for (const auto candidate : candidates)
              list += (list.empty() ? "" : ", ") + std::string{candidate};
            message += " (layers: " + list + ")";
          }
          error(where, message);
          continue;
        }
        if (!seen.insert(names[i]).second) {
          shape_known = false;
          error(where, described + ": " + names[i] + " appears twice");
          continue;
        }
        if (layer->role == layer_role::source && i + 1 != names.size()) {
          shape_known = false;
          error(where,
                described + ": the memory source " + names[i] +
                    " must come last (layers above draw from it)");
        }
      }
      if (shape_known) {
        const layer_spec* bottom = find_layer(names.back());
        if (bottom->role != layer_role::source) {
          std::vector<std::string> completed = names;
          completed.emplace_back(scope.managed ? "managed" : "cuda");
          error(where,
                described + " has no memory source: end it with " +
                    (scope.managed ? std::string{"managed"} : std::string{"cuda or cuda_async"}) +
                    ", as in " + written(completed, *scope.layers_from));
        } else if (scope.managed && bottom->name != "managed") {
          error(where,
                described +
                    ": managed allocations come from managed memory: end the stack with managed");
        } else if (!scope.managed && bottom->name == "managed") {
          error(where,
                described + ": device allocations come from cuda or cuda_async, not managed");
        }
      }
    }
    // Options given for a layer this stack does not have.
    for (const auto& [layer, options] : scope.options->options) {
      if (std::find(names.begin(), names.end(), layer) != names.end()) continue;
      for (const auto& [key, setting] : options) {
        tolerable_error(setting.from.where,
                        scope.label.substr(0, scope.label.size() - 1) + "." + layer + "] " + key +
                            " is set, but the " + described + " has no " + layer);
      }
    }
  }
}

configuration::configuration() {
  for (const auto& option : process_options()) {
    std::string why;
    auto value = from_text(option.default_text, option, why);
    process_[std::string{option.key}] =
        option_setting{value ? std::move(*value) : option_value{std::string{}}, {}};
  }
}

configuration configuration::load(std::optional<std::string> file, const environment& env) {
  configuration config;
  loader reader{config};
  if (!file) {
    for (const auto& [name, value] : env) {
      if (name == "GPUMEM_CONFIG" && !trim(value).empty()) file = value;
    }
    if (file) reader.read_file(*file, "GPUMEM_CONFIG=");
  } else {
    reader.read_file(*file, "");
  }
  reader.read_environment(env);
  reader.validate();
  if (config.valid()) config.validate_layer_options();
  return config;
}

}  // namespace gpumem::config
