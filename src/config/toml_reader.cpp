// Reading a TOML file (toml++, header-only in this one file) into settings, with the file's
// place of every value and a message for every problem, in the file's order.

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/loading.hpp"
#include "config/near_miss.hpp"
#include "config/value_text.hpp"
#include "core/ascii.hpp"

namespace gpumem::config {
namespace {

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

/// Reads one file into settings.
class toml_reader {
 public:
  toml_reader(settings& into, problem_list& problems) : into_{into}, problems_{problems} {}

  void read(const std::string& path, const std::string& named_by) {
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
    const std::size_t first = problems_.errors.size();
    read_top_level(parsed.table(), path);
    in_file_order(first, path);
  }

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
    auto& errors = problems_.errors;
    std::stable_sort(
        errors.begin() + static_cast<std::ptrdiff_t>(first),
        errors.end(),
        [&place](const std::string& a, const std::string& b) { return place(a) < place(b); });
  }

  void error(const std::string& where, const std::string& message) {
    problems_.error(where, message);
  }

  void read_top_level(const toml::table& table, const std::string& path) {
    for (const auto& [key, node] : table) {
      const std::string name{key.str()};
      const std::string where = position(path, node.source());
      if (const option_spec* spec = find_option(process_options(), name)) {
        if (auto setting = convert(node, *spec, where, name))
          into_.process[name] = std::move(*setting);
      } else if (name == "device" || name == "managed") {
        if (!node.is_table()) {
          error(where, "[" + name + "] must be a table, found " + node_kind(node));
          continue;
        }
        read_stack_table(*node.as_table(),
                         name == "device" ? into_.device : into_.managed,
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
          *entry.as_table(), into_.overrides[std::stoi(name)], "[devices." + name + "]", path);
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

  settings& into_;
  problem_list& problems_;
};

}  // namespace

void read_file(const std::string& path,
               const std::string& named_by,
               settings& into,
               problem_list& problems) {
  toml_reader{into, problems}.read(path, named_by);
}

}  // namespace gpumem::config
