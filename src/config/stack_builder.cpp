#include "config/stack_builder.hpp"

#include <unistd.h>

#include <algorithm>

#include "config/layer_options.hpp"
#include "config/layer_table.hpp"
#include "gpumem/error.hpp"

namespace gpumem::config {

built_stack::~built_stack() {
  // Top down: a layer may hand memory back to the one below when it is destroyed.
  while (!layers_.empty())
    layers_.pop_back();
}

mr::device_memory_resource* built_stack::find(std::string_view name) const {
  const auto found = std::find_if(
      layers_.begin(), layers_.end(), [name](const layer& l) { return l.name == name; });
  return found == layers_.end() ? nullptr : found->resource.get();
}

std::vector<const mr::device_memory_resource*> built_stack::helpers(std::string_view name) const {
  std::vector<const mr::device_memory_resource*> found;
  for (const layer& l : layers_) {
    if (l.name != name) continue;
    for (const auto& helper : l.helpers)
      found.push_back(helper.get());
  }
  return found;
}

std::vector<std::string> built_stack::names() const {
  std::vector<std::string> names;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
    names.push_back(it->name);
  return names;
}

std::string with_pid(std::string text) {
  const std::string pid = std::to_string(::getpid());
  for (auto at = text.find("{pid}"); at != std::string::npos;
       at = text.find("{pid}", at + pid.size())) {
    text.replace(at, 5, pid);
  }
  return text;
}

built_stack build_stack(const resolved_stack& stack,
                        std::uint64_t device_total_bytes,
                        const source_factory& make_source) {
  built_stack built;
  // Bottom up: the source first, then each layer over the one below.
  for (auto it = stack.layers.rbegin(); it != stack.layers.rend(); ++it) {
    const resolved_layer& layer = *it;
    const layer_options options{layer, device_total_bytes};
    built_layer made;
    if (built.layers_.empty()) {
      made.resource = make_source(layer);
    } else {
      const layer_kind* kind = find_layer_kind(layer.name);
      if (kind == nullptr) {
        throw gpumem::logic_error{"gpumem: cannot build a layer '" + layer.name +
                                  "' above another"};
      }
      made = kind->build(*built.layers_.back().resource, options);
    }
    built.layers_.push_back({layer.name, std::move(made.helpers), std::move(made.resource)});
  }
  return built;
}

}  // namespace gpumem::config
