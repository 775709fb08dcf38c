// Resolving a stack once, at load: its list of layers and each option's effective value (an
// override's over [device]'s over the default), with where each came from.

#include "config/loading.hpp"
#include "config/value_text.hpp"

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

}  // namespace

resolved_stack resolve(std::string label,
                       const stack_settings& own,
                       const stack_settings* device_wide,
                       const std::vector<std::string>& default_layers) {
  // An override without its own list has [device]'s.
  const stack_settings& listed = own.layers || device_wide == nullptr ? own : *device_wide;
  resolved_stack stack{std::move(label), {}, listed.layers_from, &listed == &own};
  for (const std::string& name : listed.layers ? *listed.layers : default_layers) {
    resolved_layer layer{name, find_layer(name), {}};
    for (const option_spec& option :
         layer.spec != nullptr ? layer.spec->options : std::span<const option_spec>{}) {
      const option_setting* given = find_setting(own, name, option.key);
      if (given == nullptr && device_wide != nullptr)
        given = find_setting(*device_wide, name, option.key);
      if (given != nullptr) {
        layer.options.emplace_back(&option, *given);
      } else if (!option.default_text.empty()) {
        layer.options.emplace_back(&option, option_setting{default_value(option), {}});
      } else {
        layer.options.emplace_back(&option, std::nullopt);  // none
      }
    }
    stack.layers.push_back(std::move(layer));
  }
  return stack;
}

}  // namespace gpumem::config
