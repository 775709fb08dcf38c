// The effective configuration of a device: an override's values over the [device] values
// over defaults, and the checks that need the device's memory size.

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "config/configuration.hpp"

namespace gpumem::config {
namespace {

const option_setting* find_setting(const stack_settings& stack,
                                   const std::string& layer,
                                   std::string_view key) {
  const auto options = stack.options.find(layer);
  if (options == stack.options.end()) return nullptr;
  const auto setting = options->second.find(std::string{key});
  return setting == options->second.end() ? nullptr : &setting->second;
}

std::optional<option_setting> default_setting(const option_spec& spec) {
  if (spec.default_text.empty()) return std::nullopt;
  // Defaults are written the way a file would write them; they always read back.
  switch (spec.type) {
    case option_type::size:
    case option_type::size_or_share: {
      auto size = core::parse_byte_size(spec.default_text, spec.type == option_type::size_or_share);
      return option_setting{size.value_or(core::byte_size{}), {}};
    }
    case option_type::size_list: {
      std::vector<std::uint64_t> sizes;
      std::string_view text = spec.default_text;
      while (true) {
        const auto open = text.find('"');
        if (open == std::string_view::npos) break;
        const auto close = text.find('"', open + 1);
        sizes.push_back(core::parse_bytes(text.substr(open + 1, close - open - 1)).value_or(0));
        text.remove_prefix(close + 1);
      }
      return option_setting{sizes, {}};
    }
    case option_type::boolean:
      return option_setting{spec.default_text == "true", {}};
    case option_type::count:
      return option_setting{static_cast<std::uint64_t>(std::stoull(std::string{spec.default_text})),
                            {}};
    case option_type::choice:
    case option_type::text:
      return option_setting{std::string{spec.default_text}, {}};
  }
  return std::nullopt;
}

resolved_stack resolve(const std::vector<std::string>& names,
                       const origin& from,
                       std::initializer_list<const stack_settings*> scopes) {
  resolved_stack stack{{}, from};
  for (const std::string& name : names) {
    const layer_spec* spec = find_layer(name);
    resolved_layer layer{name, spec, {}};
    if (spec != nullptr) {
      for (const option_spec& option : spec->options) {
        std::optional<option_setting> value;
        for (const stack_settings* scope : scopes) {
          if (scope == nullptr) continue;
          if (const option_setting* given = find_setting(*scope, name, option.key)) {
            value = *given;
            break;
          }
        }
        if (!value) value = default_setting(option);
        layer.options.emplace_back(&option, value);
      }
    }
    stack.layers.push_back(std::move(layer));
  }
  return stack;
}

const option_setting* layer_option(const resolved_stack& stack,
                                   std::string_view layer,
                                   std::string_view key) {
  for (const resolved_layer& entry : stack.layers) {
    if (entry.name != layer) continue;
    for (const auto& [spec, value] : entry.options) {
      if (spec->key == key && value) return &*value;
    }
  }
  return nullptr;
}

/// Whether `setting` of a device override is the [device] value itself (same file place or
/// variable): its problems are reported once, for [device].
bool inherited(const option_setting& setting,
               const resolved_stack& device,
               std::string_view layer,
               std::string_view key) {
  if (setting.from.from == origin::source::default_value) return false;
  const option_setting* own = layer_option(device, layer, key);
  return own != nullptr && own->from.from == setting.from.from &&
         own->from.where == setting.from.where;
}

/// Where a stack's list of layers was written ("default stack" for a default one).
std::string where_layers(const resolved_stack& stack) {
  return stack.layers_from.from == origin::source::default_value ? std::string{"default stack"}
                                                                 : stack.layers_from.where;
}

/// A size or share as written: "2.0 GiB" or "60%".
std::string shown_size(const core::byte_size& size) {
  if (size.bytes) return core::format_bytes(*size.bytes);
  if (size.percent) {
    std::string text = std::to_string(*size.percent);
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
    return text + "%";
  }
  return "none";
}

}  // namespace

namespace {

/// Why a file named by an option cannot be written: its folder does not exist (nullopt: it
/// may be). stderr and stdout are not files; a folder named with {pid} is not checked.
std::optional<std::string> unwritable_folder(const std::string& file) {
  if (file.empty() || file == "stderr" || file == "stdout") return std::nullopt;
  const std::filesystem::path folder = std::filesystem::path{file}.parent_path();
  if (folder.empty() || folder.string().find("{pid}") != std::string::npos) return std::nullopt;
  std::error_code error;
  if (std::filesystem::is_directory(folder, error)) return std::nullopt;
  return "the folder " + folder.string() + " does not exist";
}

}  // namespace

void configuration::validate_layer_options() {
  // Files the run will write: a missing folder is found here, not after the run.
  for (const option_spec& spec : process_options()) {
    if (!spec.checked(folder_exists)) continue;
    const option_setting& setting = process(spec.key);
    if (const auto* text = std::get_if<std::string>(&setting.value)) {
      if (const auto why = unwritable_folder(*text)) {
        errors_.push_back("gpumem: " + setting.from.describe() + ": " + std::string{spec.key} +
                          " " + *text + ": " + *why);
      }
    }
  }
  const auto where = [](const option_setting& setting) {
    return setting.from.from == origin::source::default_value ? std::string{"default"}
                                                              : setting.from.where;
  };
  const resolved_stack device_wide = device_stack(-1);
  struct checked_stack {
    std::string label;
    resolved_stack stack;
    bool override_of_device;  ///< a [devices.N] stack: values it shares with [device] are checked
                              ///< there
    bool own_layers;          ///< its own list of layers (not [device]'s)
  };
  std::vector<checked_stack> stacks{{"[device]", device_wide, false, true},
                                    {"[managed]", managed_stack(), false, true}};
  for (const auto& [device, settings] : overrides_) {
    stacks.push_back({"[devices." + std::to_string(device) + "]",
                      device_stack(device),
                      true,
                      settings.layers.has_value()});
  }
  for (const auto& [label, stack, override_of_device, own_layers] : stacks) {
    const std::string scope = label.substr(0, label.size() - 1);
    for (const resolved_layer& layer : stack.layers) {
      for (const auto& [spec, value] : layer.options) {
        const std::string subject = scope + "." + layer.name + "] " + std::string{spec->key};
        const std::string key{spec->key};
        if (!value) {
          if (spec->checked(required) && own_layers) {
            errors_.push_back("gpumem: " + where_layers(stack) + ": " + label + " stack has the " +
                              layer.name + " layer but no " + key + ": " + "set " + scope + "." +
                              layer.name + "] " + key + " = \"40GiB\" or " +
                              layer_variable(label, layer.name, key) + "=40GiB");
          }
          continue;
        }
        if (override_of_device && inherited(*value, device_wide, layer.name, spec->key)) continue;
        if (spec->checked(folder_exists)) {
          if (const auto why = unwritable_folder(std::get<std::string>(value->value))) {
            errors_.push_back("gpumem: " + value->from.describe() + ": " + subject + " " +
                              std::get<std::string>(value->value) + ": " + *why);
            continue;
          }
        }
        if (const auto* size = std::get_if<core::byte_size>(&value->value)) {
          // An empty size is no size: every allocation would fail against a limit of 0 B.
          if (spec->checked(required) && !size->bytes && !size->percent) {
            errors_.push_back("gpumem: " + value->from.describe() + ": " + subject +
                              " is empty: the " + layer.name + " layer needs a " + key +
                              ", such as \"40GiB\" or \"80%\"");
            continue;
          }
          if (spec->checked(more_than_zero) && size->bytes && *size->bytes == 0)
            errors_.push_back("gpumem: " + where(*value) + ": " + subject + " must be more than 0");
          if (spec->checked(at_least_a_superblock) && size->bytes &&
              *size->bytes < kSmallestArena) {
            errors_.push_back("gpumem: " + where(*value) + ": " + subject + " " +
                              core::format_bytes(*size->bytes) +
                              " is less than one 4 MiB superblock: every allocation would fail");
          }
          if (spec->checked(power_of_two) && size->bytes &&
              (*size->bytes & (*size->bytes - 1)) != 0) {
            errors_.push_back("gpumem: " + where(*value) + ": " + subject +
                              " must be a power of two, found " + std::to_string(*size->bytes));
          }
        } else if (const auto* count = std::get_if<std::uint64_t>(&value->value)) {
          if (*count == 0)
            errors_.push_back("gpumem: " + where(*value) + ": " + subject + " must be at least 1");
        } else if (const auto* sizes = std::get_if<std::vector<std::uint64_t>>(&value->value)) {
          if (sizes->empty() || std::find(sizes->begin(), sizes->end(), 0) != sizes->end()) {
            errors_.push_back("gpumem: " + where(*value) + ": " + subject +
                              " needs at least one size, none of them 0");
          }
        }
      }
      // Initial above maximum, when both are bytes or both are shares (mixed: checked per device).
      if (layer.name != "pool") continue;
      const option_setting* initial = layer_option(stack, "pool", "initial_size");
      const option_setting* maximum = layer_option(stack, "pool", "maximum_size");
      if (initial == nullptr || maximum == nullptr) continue;
      if (override_of_device && inherited(*initial, device_wide, "pool", "initial_size") &&
          inherited(*maximum, device_wide, "pool", "maximum_size")) {
        continue;
      }
      const auto& low = std::get<core::byte_size>(initial->value);
      const auto& high = std::get<core::byte_size>(maximum->value);
      const bool above = (low.bytes && high.bytes && *low.bytes > *high.bytes) ||
                         (low.percent && high.percent && *low.percent > *high.percent);
      if (above) {
        errors_.push_back("gpumem: " + where(*initial) + ": " + scope + ".pool] initial_size " +
                          shown_size(low) + " is above maximum_size " + shown_size(high) + " (" +
                          where(*maximum) + ")");
      }
    }
  }
}

const option_setting& configuration::process(std::string_view key) const {
  const auto found = process_.find(key);
  if (found == process_.end())
    throw std::out_of_range{"gpumem: no process option " + std::string{key}};
  return found->second;
}

const std::string& configuration::process_text(std::string_view key) const {
  return std::get<std::string>(process(key).value);
}

resolved_stack configuration::device_stack(int device) const {
  const auto override_entry = overrides_.find(device);
  const stack_settings* own =
      override_entry == overrides_.end() ? nullptr : &override_entry->second;
  if (own != nullptr && own->layers)
    return resolve(*own->layers, own->layers_from, {own, &device_});
  const std::vector<std::string>& names = device_.layers ? *device_.layers : default_device_stack();
  return resolve(names, device_.layers_from, {own, &device_});
}

resolved_stack configuration::managed_stack() const {
  const std::vector<std::string>& names =
      managed_.layers ? *managed_.layers : default_managed_stack();
  return resolve(names, managed_.layers_from, {&managed_});
}

std::vector<int> configuration::overridden_devices() const {
  std::vector<int> devices;
  for (const auto& [device, stack] : overrides_)
    devices.push_back(device);
  return devices;
}

std::vector<std::string> configuration::check_for_device(int device,
                                                         std::uint64_t total_bytes) const {
  std::vector<std::string> problems;
  const resolved_stack stack = device_stack(device);
  const auto where = [](const option_setting& setting) {
    return setting.from.from == origin::source::default_value ? std::string{"default"}
                                                              : setting.from.where;
  };
  for (const char* layer : {"pool"}) {
    const option_setting* initial = layer_option(stack, layer, "initial_size");
    const option_setting* maximum = layer_option(stack, layer, "maximum_size");
    if (initial == nullptr || maximum == nullptr) continue;
    const auto& maximum_size = std::get<core::byte_size>(maximum->value);
    if (!maximum_size.bytes && !maximum_size.percent) continue;
    const auto& initial_size = std::get<core::byte_size>(initial->value);
    const std::uint64_t initial_bytes = bytes_of(initial_size, total_bytes);
    const std::uint64_t maximum_bytes = bytes_of(maximum_size, total_bytes);
    // A share is shown with what it comes to on this device.
    const auto on_device = [](const core::byte_size& size, std::uint64_t bytes) {
      return size.percent ? shown_size(size) + " = " + core::format_bytes(bytes)
                          : core::format_bytes(bytes);
    };
    if (initial_bytes > maximum_bytes) {
      problems.push_back("gpumem: " + where(*initial) + ": device " + std::to_string(device) + " " +
                         layer + " initial_size " + on_device(initial_size, initial_bytes) +
                         " exceeds maximum_size " + on_device(maximum_size, maximum_bytes) + " (" +
                         where(*maximum) + ")");
    }
  }
  for (const resolved_layer& layer : stack.layers) {
    for (const auto& [spec, value] : layer.options) {
      if (!value || (spec->type != option_type::size_or_share && spec->type != option_type::size))
        continue;
      const std::uint64_t bytes = bytes_of(std::get<core::byte_size>(value->value), total_bytes);
      if (bytes > total_bytes && spec->key != "release_threshold") {
        problems.push_back("gpumem: " + where(*value) + ": device " + std::to_string(device) + " " +
                           layer.name + " " + std::string{spec->key} + " " +
                           core::format_bytes(bytes) + " exceeds the device's " +
                           core::format_bytes(total_bytes));
      }
    }
  }
  return problems;
}

std::vector<std::string> shown_problems(const std::vector<std::string>& problems,
                                        std::size_t most) {
  if (problems.size() <= most) return problems;
  std::vector<std::string> shown(problems.begin(),
                                 problems.begin() + static_cast<std::ptrdiff_t>(most));
  shown.push_back("gpumem: and " + std::to_string(problems.size() - most) +
                  " more problems, not shown (fix these first)");
  return shown;
}

}  // namespace gpumem::config
