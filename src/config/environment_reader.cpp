// Reading the GPUMEM_* variables into settings, over what the file said: GPUMEM_<KEY> for a
// process option, GPUMEM_[MANAGED_|DEVICE<N>_]STACK and ..._<LAYER>_<KEY> for the stacks.

#include <algorithm>

#include "config/loading.hpp"
#include "config/near_miss.hpp"
#include "config/value_text.hpp"
#include "core/ascii.hpp"

extern char** environ;

namespace gpumem::config {
namespace {

/// The layer and option that <LAYER>_<KEY> names, if any.
std::optional<std::pair<const layer_spec*, const option_spec*>> layer_option_of(
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
                                           const std::string& where,
                                           problem_list& problems) {
  std::string why;
  if (auto converted = from_text(value, spec, why)) {
    return option_setting{std::move(*converted), origin{origin::source::environment, name}};
  }
  problems.error(where, why);
  return std::nullopt;
}

/// The variables a misspelt one may have meant: every plain and managed one, and those of
/// the device it names ("[devices.1]": GPUMEM_DEVICE1_*).
std::vector<std::string> known_variables(const std::string& table) {
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

/// Reads one variable: a process option, a stack's list or a layer's option, or a problem.
void read_variable(const std::string& name,
                   const std::string& value,
                   settings& into,
                   problem_list& problems) {
  // The file's name, the library's CSV default, the simulator's, the tests' and the sampling
  // profiler's own (bench/sampler), and the scripts' and `gpumem run`'s settings: not the
  // shim's.
  static constexpr std::string_view kOthers[] = {"GPUMEM_CONFIG",
                                                 "GPUMEM_LOG_FILE",
                                                 "GPUMEM_BUILD_DIR",
                                                 "GPUMEM_CMAKE_ARGS",
                                                 "GPUMEM_GPU_DEPS",
                                                 "GPUMEM_PRELOAD_LIBRARY"};
  if (std::find(std::begin(kOthers), std::end(kOthers), name) != std::end(kOthers) ||
      name.starts_with("GPUMEM_SIM_") || name.starts_with("GPUMEM_TEST_") ||
      name.starts_with("GPUMEM_SAMPLER_")) {
    return;
  }
  const std::string where = shown(name) + "='" + shown(value) + "'";
  const std::string rest = name.substr(std::string_view{"GPUMEM_"}.size());
  for (const auto& option : process_options()) {
    if (rest == upper(option.key)) {
      if (auto setting = convert_text(value, option, name, where, problems))
        into.process[std::string{option.key}] = *setting;
      return;
    }
  }
  stack_settings* scope = &into.device;
  std::string table = "[device]";
  std::string scoped = rest;
  if (scoped.starts_with("MANAGED_")) {
    scope = &into.managed;
    table = "[managed]";
    scoped = scoped.substr(8);
  } else if (scoped.starts_with("DEVICE")) {
    std::size_t digits = 6;
    while (digits < scoped.size() && core::is_ascii_digit(scoped[digits]))
      ++digits;
    if (digits > 6 && digits < scoped.size() && scoped[digits] == '_') {
      if (digits - 6 > 3) {
        problems.error(where, "a device number is 0 to 999, as in GPUMEM_DEVICE1_STACK");
        return;
      }
      const int device = std::stoi(scoped.substr(6, digits - 6));
      table = "[devices." + std::to_string(device) + "]";
      scoped = scoped.substr(digits + 1);
      // The override exists only once something of it is known, so a misspelt variable
      // leaves no empty override behind.
      if (scoped == "STACK" || layer_option_of(scoped).has_value()) scope = &into.overrides[device];
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
    if (auto setting = convert_text(value, *spec, name, where, problems)) {
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
  problems.tolerable_error(where, message);
}

}  // namespace

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

void read_environment(const environment& env, settings& into, problem_list& problems) {
  for (const auto& [name, value] : env) {
    if (trim(value).empty()) continue;  // an empty variable means its default
    read_variable(name, value, into, problems);
  }
}

}  // namespace gpumem::config
