#include "config/key_table.hpp"

#include <algorithm>

#include "config/configuration.hpp"
#include "config/schema.hpp"

namespace gpumem::config {
namespace {

/// Text made safe for a table cell: `|` would end the cell and `<` would open an HTML tag.
std::string cell(std::string_view text) {
  std::string result;
  for (const char c : text) {
    if (c == '|' || c == '<' || c == '>') result += '\\';
    result += c;
  }
  return result;
}

std::string code(std::string_view text) {
  return "`" + std::string{text} + "`";
}

std::string type_name(const option_spec& spec) {
  switch (spec.type) {
    case option_type::size:
      return "size";
    case option_type::size_or_share:
      return "size or share";
    case option_type::size_list:
      return "list of sizes";
    case option_type::boolean:
      return "boolean";
    case option_type::count:
      return "count";
    case option_type::text:
      return "text";
    case option_type::choice: {
      std::string words;
      for (const auto choice : spec.choices)
        words += (words.empty() ? "" : ", ") + code(choice);
      return words;
    }
  }
  return "value";
}

/// The default as a file writes it: words, file names and sizes with a unit in quotes.
std::string default_of(const option_spec& spec) {
  const std::string_view text = spec.default_text;
  if (text.empty()) return std::string{spec.unset_text};
  const bool number =
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const bool literal =
      spec.type == option_type::boolean || spec.type == option_type::size_list || number;
  return code(literal ? std::string{text} : "\"" + std::string{text} + "\"");
}

std::string list_of(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names)
    text += (text.empty() ? "" : ", ") + ("\"" + name + "\"");
  return code("[" + text + "]");
}

/// The layers by role, as the stack rows name them.
std::string layers_by_role() {
  const auto of_role = [](layer_role role) {
    std::string names;
    for (const auto& layer : layers()) {
      if (layer.role == role) names += (names.empty() ? "" : ", ") + code(layer.name);
    }
    return names;
  };
  return "sources " + of_role(layer_role::source) + "; sub-allocators " +
         of_role(layer_role::sub_allocator) + "; adaptors " + of_role(layer_role::adaptor);
}

void row(std::string& table,
         const std::string& key,
         const std::string& variable,
         const std::string& type,
         const std::string& default_value,
         const std::string& meaning) {
  table += "| " + key + " | " + variable + " | " + type + " | " + default_value + " | " + meaning +
           " |\n";
}

}  // namespace

std::string markdown_key_table() {
  std::string table =
      "| key | environment variable | type | default | meaning |\n|---|---|---|---|---|\n";
  row(table,
      "(none)",
      code("GPUMEM_CONFIG"),
      "text",
      "none",
      "the configuration file (TOML) to read");
  for (const auto& option : process_options()) {
    row(table,
        code(option.key),
        code(process_variable(option.key)),
        type_name(option),
        default_of(option),
        cell(option.meaning));
  }
  row(table,
      code("[device] stack"),
      code(stack_variable("[device]")),
      "list of layers",
      list_of(default_device_stack()),
      "the layers of device memory (cudaMalloc, cudaMallocAsync), outermost first, down to a "
      "source: " +
          layers_by_role());
  row(table,
      code("[managed] stack"),
      code(stack_variable("[managed]")),
      "list of layers",
      list_of(default_managed_stack()),
      "the layers of managed memory (cudaMallocManaged), ending with `managed`");
  row(table,
      code("[devices.N] stack"),
      code(stack_variable("[devices.<N>]")),
      "list of layers",
      "`[device] stack`",
      "device N's own layers (N: 0 to 999)");
  for (const auto& layer : layers()) {
    for (const auto& option : layer.options) {
      row(table,
          code("[device." + std::string{layer.name} + "] " + std::string{option.key}),
          code(layer_variable("[device]", layer.name, option.key)),
          type_name(option),
          default_of(option),
          cell(std::string{layer.name} + ": " + std::string{option.meaning}));
    }
  }
  row(table,
      code("[managed.<layer>] <key>"),
      code(layer_variable("[managed]", "<layer>", "<key>")),
      "as in [device]",
      "as in [device]",
      "a layer's option in the managed stack");
  row(table,
      code("[devices.N.<layer>] <key>"),
      code(layer_variable("[devices.<N>]", "<layer>", "<key>")),
      "as in [device]",
      "the `[device.<layer>]` value",
      "device N's own value of a layer's option");
  return table;
}

}  // namespace gpumem::config
