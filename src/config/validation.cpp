// Validating a configuration: one pass at load over the stacks as resolved (the stacks
// `gpumem check` prints and the shim builds), and the checks that need a device's memory size.

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "config/loading.hpp"
#include "config/near_miss.hpp"
#include "config/value_text.hpp"

namespace gpumem::config {
namespace {

using option_entry = std::pair<const option_spec*, std::optional<option_setting>>;

/// Where `from` was written; `fallback` for a default.
std::string where_of(const origin& from, const std::string& fallback) {
  return from.from == origin::source::default_value ? fallback : from.where;
}

/// Where a value was written ("default" for a default).
std::string where_of(const option_setting& setting) {
  return where_of(setting.from, "default");
}

/// The start of a stack's tables: "[devices.1" for "[devices.1]" ("[devices.1.pool]").
std::string scope_of(const resolved_stack& stack) {
  return stack.label.substr(0, stack.label.size() - 1);
}

/// A stack as messages name it: "[device] stack (statistics, pool, cuda)".
std::string described(const resolved_stack& stack) {
  std::string names;
  for (const resolved_layer& layer : stack.layers)
    names += (names.empty() ? "" : ", ") + shown(layer.name);
  return stack.label + " stack (" + names + ")";
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

/// `layer`'s option marked `check`, when it has a value; null otherwise.
const option_entry* marked(const resolved_layer& layer, option_check check) {
  const auto found = std::find_if(layer.options.begin(), layer.options.end(), [check](auto& e) {
    return e.first->checked(check) && e.second.has_value();
  });
  return found == layer.options.end() ? nullptr : &*found;
}

/// Whether `setting` of `spec` in an override is [device]'s own value (the same file place or
/// variable): its problems are reported once, for [device].
/// @param device_wide [device]'s stack when the stack checked is an override, else null
bool inherited(const option_setting& setting,
               const option_spec* spec,
               const resolved_stack* device_wide) {
  if (device_wide == nullptr || setting.from.from == origin::source::default_value) return false;
  for (const resolved_layer& layer : device_wide->layers) {
    for (const auto& [own_spec, own] : layer.options) {
      if (own_spec == spec && own) {
        return own->from.from == setting.from.from && own->from.where == setting.from.where;
      }
    }
  }
  return false;
}

/// Reports a file an option names whose folder does not exist. stderr and stdout are not
/// files; a folder named with {pid} is not checked.
void check_folder(const option_setting& setting, const std::string& subject, problem_list& values) {
  const auto& file = std::get<std::string>(setting.value);
  if (file.empty() || file == "stderr" || file == "stdout") return;
  const std::filesystem::path folder = std::filesystem::path{file}.parent_path();
  if (folder.empty() || folder.string().find("{pid}") != std::string::npos) return;
  std::error_code error;
  if (std::filesystem::is_directory(folder, error)) return;
  values.error(setting.from.describe(),
               subject + " " + file + ": the folder " + folder.string() + " does not exist");
}

/// Reports what a stack's list of layers breaks: not empty, each layer known and named once, a
/// source at the bottom only, and of the stack's memory (managed memory for [managed] alone).
/// @return false for an empty stack (whose options say nothing more)
bool check_shape(const resolved_stack& stack, bool managed, problem_list& problems) {
  const std::string where = where_of(stack.layers_from, "default stack");
  if (stack.layers.empty()) {
    const std::vector<std::string> example =
        managed ? std::vector<std::string>{"statistics", "managed"}
                : std::vector<std::string>{"statistics", "pool", "cuda"};
    problems.error(where,
                   stack.label +
                       " stack is empty: name its layers down to a memory source, as in " +
                       written(example, stack.layers_from));
    return false;
  }
  const std::string label = described(stack);
  bool shape_known = true;  // every layer known, each once, a source only at the bottom
  std::set<const layer_spec*> seen;
  for (std::size_t i = 0; i < stack.layers.size(); ++i) {
    const resolved_layer& layer = stack.layers[i];
    if (layer.spec == nullptr) {
      shape_known = false;
      if (layer.name.empty()) {
        problems.error(where, label + ": a layer without a name (two commas?)");
        continue;
      }
      std::vector<std::string_view> candidates;
      for (const auto& known : layers())
        candidates.push_back(known.name);
      std::string message = label + ": unknown layer '" + shown(layer.name) + "'";
      if (auto near = nearest(layer.name, candidates)) {
        message += "; did you mean " + *near + "?";
      } else {
        std::string list;
        for (const auto candidate : candidates)
          list += (list.empty() ? "" : ", ") + std::string{candidate};
        message += " (layers: " + list + ")";
      }
      problems.error(where, message);
    } else if (!seen.insert(layer.spec).second) {
      shape_known = false;
      problems.error(where, label + ": " + layer.name + " appears twice");
    } else if (layer.spec->role == layer_role::source && i + 1 != stack.layers.size()) {
      shape_known = false;
      problems.error(where,
                     label + ": the memory source " + layer.name +
                         " must come last (layers above draw from it)");
    }
  }
  if (!shape_known) return true;
  const layer_spec& bottom = *stack.layers.back().spec;
  if (bottom.role != layer_role::source) {
    std::vector<std::string> completed;
    for (const resolved_layer& layer : stack.layers)
      completed.push_back(layer.name);
    completed.emplace_back(managed ? "managed" : "cuda");
    problems.error(where,
                   label + " has no memory source: end it with " +
                       (managed ? std::string{"managed"} : std::string{"cuda or cuda_async"}) +
                       ", as in " + written(completed, stack.layers_from));
  } else if (managed && bottom.name != "managed") {
    problems.error(
        where,
        label + ": managed allocations come from managed memory: end the stack with managed");
  } else if (!managed && bottom.name == "managed") {
    problems.error(where, label + ": device allocations come from cuda or cuda_async, not managed");
  }
  return true;
}

/// Reports what one value breaks of its option's constraints (option_check).
void check_value(const option_setting& value,
                 const option_spec& spec,
                 const resolved_layer& layer,
                 const std::string& subject,
                 problem_list& values) {
  const std::string where = where_of(value);
  if (spec.checked(folder_exists)) {
    check_folder(value, subject, values);
  } else if (const auto* size = std::get_if<core::byte_size>(&value.value)) {
    // An empty size is no size: every allocation would fail against a limit of 0 B.
    if (spec.checked(required) && !size->bytes && !size->percent) {
      values.error(value.from.describe(),
                   subject + " is empty: the " + layer.name + " layer needs a " +
                       std::string{spec.key} + ", such as \"40GiB\" or \"80%\"");
      return;
    }
    if (!size->bytes) return;
    const std::uint64_t bytes = *size->bytes;
    if (spec.checked(more_than_zero) && bytes == 0)
      values.error(where, subject + " must be more than 0");
    if (spec.checked(at_least_a_superblock) && bytes < kSmallestArena) {
      values.error(where,
                   subject + " " + core::format_bytes(bytes) +
                       " is less than one 4 MiB superblock: every allocation would fail");
    }
    if (spec.checked(power_of_two) && (bytes & (bytes - 1)) != 0)
      values.error(where, subject + " must be a power of two, found " + std::to_string(bytes));
  } else if (const auto* count = std::get_if<std::uint64_t>(&value.value)) {
    if (*count == 0) values.error(where, subject + " must be at least 1");
  } else if (const auto* sizes = std::get_if<std::vector<std::uint64_t>>(&value.value)) {
    if (sizes->empty() || std::find(sizes->begin(), sizes->end(), 0) != sizes->end())
      values.error(where, subject + " needs at least one size, none of them 0");
  }
}

/// Reports a layer's not_above_maximum value above its is_maximum one, when both are bytes or
/// both are shares (a mix is checked per device).
void check_initial_below_maximum(const resolved_layer& layer,
                                 const resolved_stack& stack,
                                 const resolved_stack* device_wide,
                                 problem_list& values) {
  const option_entry* initial = marked(layer, not_above_maximum);
  const option_entry* maximum = marked(layer, is_maximum);
  if (initial == nullptr || maximum == nullptr) return;
  if (inherited(*initial->second, initial->first, device_wide) &&
      inherited(*maximum->second, maximum->first, device_wide)) {
    return;
  }
  const auto& low = std::get<core::byte_size>(initial->second->value);
  const auto& high = std::get<core::byte_size>(maximum->second->value);
  if ((low.bytes && high.bytes && *low.bytes > *high.bytes) ||
      (low.percent && high.percent && *low.percent > *high.percent)) {
    values.error(where_of(*initial->second),
                 scope_of(stack) + "." + layer.name + "] " + std::string{initial->first->key} +
                     " " + shown_size(low) + " is above " + std::string{maximum->first->key} + " " +
                     shown_size(high) + " (" + where_of(*maximum->second) + ")");
  }
}

/// Checks one stack: its shape and the options given for layers it lacks into `problems`, its
/// values into `values`.
/// @param device_wide [device]'s stack when `stack` is an override's, else null
void check_stack(const resolved_stack& stack,
                 const stack_settings& own,
                 const resolved_stack* device_wide,
                 bool managed,
                 problem_list& problems,
                 problem_list& values) {
  if (stack.own_layers && !check_shape(stack, managed, problems)) return;
  for (const auto& [layer, options] : own.options) {
    if (std::any_of(stack.layers.begin(), stack.layers.end(), [&layer](const resolved_layer& l) {
          return l.name == layer;
        })) {
      continue;
    }
    for (const auto& [key, setting] : options) {
      problems.tolerable_error(setting.from.where,
                               scope_of(stack) + "." + layer + "] " + key + " is set, but the " +
                                   described(stack) + " has no " + layer);
    }
  }
  for (const resolved_layer& layer : stack.layers) {
    for (const auto& [spec, value] : layer.options) {
      const std::string key{spec->key};
      const std::string subject = scope_of(stack) + "." + layer.name + "] " + key;
      if (!value) {
        if (spec->checked(required) && stack.own_layers) {
          values.error(where_of(stack.layers_from, "default stack"),
                       stack.label + " stack has the " + layer.name + " layer but no " + key +
                           ": set " + subject + " = \"40GiB\" or " +
                           layer_variable(stack.label, layer.name, key) + "=40GiB");
        }
      } else if (!inherited(*value, spec, device_wide)) {
        check_value(*value, *spec, layer, subject, values);
      }
    }
    check_initial_below_maximum(layer, stack, device_wide, values);
  }
}

}  // namespace

void validate(const configuration& config, const settings& read, problem_list& problems) {
  problem_list values;
  // Files the run will write: a missing folder is found here, not after the run.
  for (const option_spec& spec : process_options()) {
    if (spec.checked(folder_exists))
      check_folder(config.process(spec.key), std::string{spec.key}, values);
  }
  const resolved_stack& device_wide = config.device_stack(-1);
  check_stack(device_wide, read.device, nullptr, false, problems, values);
  check_stack(config.managed_stack(), read.managed, nullptr, true, problems, values);
  for (const auto& [device, own] : read.overrides)
    check_stack(config.device_stack(device), own, &device_wide, false, problems, values);
  // A problem a running program ignores hides none: the shim would run with these values.
  if (problems.errors.size() == problems.tolerable.size()) {
    problems.errors.insert(problems.errors.end(), values.errors.begin(), values.errors.end());
  }
}

std::vector<std::string> configuration::check_for_device(int device,
                                                         std::uint64_t total_bytes) const {
  problem_list problems;
  const resolved_stack& stack = device_stack(device);
  const std::string on_device = "device " + std::to_string(device) + " ";
  // A share is shown with what it comes to on this device.
  const auto resolved = [total_bytes](const core::byte_size& size) {
    const std::uint64_t bytes = bytes_of(size, total_bytes);
    return size.percent ? shown_size(size) + " = " + core::format_bytes(bytes)
                        : core::format_bytes(bytes);
  };
  for (const resolved_layer& layer : stack.layers) {
    const option_entry* initial = marked(layer, not_above_maximum);
    const option_entry* maximum = marked(layer, is_maximum);
    if (initial == nullptr || maximum == nullptr) continue;
    const auto& initial_size = std::get<core::byte_size>(initial->second->value);
    const auto& maximum_size = std::get<core::byte_size>(maximum->second->value);
    if (!maximum_size.bytes && !maximum_size.percent) continue;
    if (bytes_of(initial_size, total_bytes) > bytes_of(maximum_size, total_bytes)) {
      problems.error(where_of(*initial->second),
                     on_device + layer.name + " " + std::string{initial->first->key} + " " +
                         resolved(initial_size) + " exceeds " + std::string{maximum->first->key} +
                         " " + resolved(maximum_size) + " (" + where_of(*maximum->second) + ")");
    }
  }
  for (const resolved_layer& layer : stack.layers) {
    for (const auto& [spec, value] : layer.options) {
      if (!value || spec->checked(may_exceed_device)) continue;
      const auto* size = std::get_if<core::byte_size>(&value->value);
      if (size == nullptr || bytes_of(*size, total_bytes) <= total_bytes) continue;
      problems.error(where_of(*value),
                     on_device + layer.name + " " + std::string{spec->key} + " " +
                         core::format_bytes(bytes_of(*size, total_bytes)) +
                         " exceeds the device's " + core::format_bytes(total_bytes));
    }
  }
  return problems.errors;
}

}  // namespace gpumem::config
