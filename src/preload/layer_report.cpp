#include "preload/layer_report.hpp"

#include <chrono>
#include <cstdint>

#include "config/layer_table.hpp"
#include "gpumem/mr/expandable_memory_resource.hpp"

namespace gpumem::preload {
namespace {

using core::report_node;

double milliseconds(std::chrono::nanoseconds time) {
  return std::chrono::duration<double, std::milli>(time).count();
}

/// A source's figures: the expandable source's mappings, or what a source of the shim's own
/// making says of itself; empty for one that holds nothing (`cuda`, `managed`).
report_node source_report(const mr::device_memory_resource& layer) {
  if (const auto* expandable = dynamic_cast<const mr::expandable_memory_resource*>(&layer)) {
    const auto mapping = expandable->statistics();
    report_node node;
    node.set("virtual_bytes", static_cast<std::uint64_t>(mapping.reserved_bytes));
    node.set("mapped_bytes", static_cast<std::uint64_t>(mapping.mapped_bytes));
    node.set("peak_mapped_bytes", static_cast<std::uint64_t>(mapping.peak_mapped_bytes));
    node.set("chunk_size_bytes", static_cast<std::uint64_t>(expandable->chunk_size()));
    node.set("maps", static_cast<std::uint64_t>(mapping.map_calls));
    node.set("map_time_ms", milliseconds(mapping.map_time));
    node.set("unmaps", static_cast<std::uint64_t>(mapping.unmap_calls));
    node.set("unmap_time_ms", milliseconds(mapping.unmap_time));
    return node;
  }
  if (const auto* own = dynamic_cast<const reported_layer*>(&layer)) return own->report();
  return report_node{};
}

/// What a layer holds from the layer below, as its figures say (0: nothing).
std::uint64_t holding(const report_node& figures) {
  for (const char* key : {"mapped_bytes", "reserved_bytes"}) {
    if (const report_node* held = figures.find(key))
      return static_cast<std::uint64_t>(held->integer());
  }
  return 0;
}

/// The figures of `stack`'s layer `name` (the layer table's for a layer above the source, the
/// source's own otherwise), its helpers' (a binning layer's bins) included.
report_node layer_report(const config::built_stack& stack, const std::string& name) {
  const mr::device_memory_resource& layer = *stack.find(name);
  const config::layer_kind* kind = config::find_layer_kind(name);
  report_node figures = kind != nullptr ? kind->report(layer) : source_report(layer);
  // The layer's helpers (the bins a stack made for its binning layer) hold memory for it.
  const std::vector<const mr::device_memory_resource*> helpers = stack.helpers(name);
  if (helpers.empty()) return figures;
  std::uint64_t reserved = holding(figures);
  const config::layer_kind* fixed_size = config::find_layer_kind("fixed_size");
  report_node list = report_node::list();
  for (const mr::device_memory_resource* helper : helpers) {
    report_node helper_figures = fixed_size->report(*helper);
    reserved += holding(helper_figures);
    list.push(std::move(helper_figures));
  }
  figures.set("reserved_bytes", reserved);
  figures.set("bin", std::move(list));
  return figures;
}

}  // namespace

report_node layers_report(const config::built_stack& stack) {
  report_node layers;
  for (const std::string& name : stack.names()) {
    report_node figures = layer_report(stack, name);
    if (figures.members().empty()) figures.set("holds", "nothing (each call goes below)");
    layers.set(name, std::move(figures));
  }
  return layers;
}

std::uint64_t held_from_cuda(const report_node& layers) {
  const auto& figures = layers.members();  // outermost first
  for (auto layer = figures.rbegin(); layer != figures.rend(); ++layer) {
    if (const std::uint64_t held = holding(layer->value); held != 0) return held;
  }
  return 0;
}

}  // namespace gpumem::preload
