#include "preload/layer_report.hpp"

#include <chrono>
#include <cstdint>

#include "gpumem/mr/arena_memory_resource.hpp"
#include "gpumem/mr/binning_memory_resource.hpp"
#include "gpumem/mr/expandable_memory_resource.hpp"
#include "gpumem/mr/fixed_size_memory_resource.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"
#include "gpumem/mr/tracking_resource_adaptor.hpp"

namespace gpumem::preload {
namespace {

using core::report_node;

std::uint64_t bytes(std::size_t value) {
  return static_cast<std::uint64_t>(value);
}

double milliseconds(std::chrono::nanoseconds time) {
  return std::chrono::duration<double, std::milli>(time).count();
}

/// The share of free memory a request could not get in one piece (see held_memory).
double fragmentation_percent(std::size_t reserved, std::size_t free, std::size_t largest) {
  if (free == 0 || free >= reserved) return 0.0;
  return 100.0 * (1.0 - static_cast<double>(largest) / static_cast<double>(free));
}

report_node pool_report(const mr::detail::pool_resource_core& pool) {
  const mr::pool_state state = pool.state();
  const std::size_t free = state.pool_size - state.allocated_bytes;
  report_node node;
  node.set("reserved_bytes", bytes(state.pool_size));
  node.set("in_use_bytes", bytes(state.allocated_bytes));
  node.set("free_bytes", bytes(free));
  node.set("largest_free_block_bytes", bytes(state.largest_free_block));
  node.set("fragmentation_percent",
           fragmentation_percent(state.pool_size, free, state.largest_free_block));
  node.set("allocated_blocks", bytes(state.allocated_blocks));
  node.set("free_blocks", bytes(state.free_blocks));
  node.set("streams", bytes(state.streams));
  if (const auto maximum = pool.maximum_pool_size()) node.set("maximum_bytes", bytes(*maximum));
  return node;
}

report_node arena_report(const mr::detail::arena_resource_core& arena) {
  const mr::arena_state state = arena.state();
  report_node node;
  node.set("reserved_bytes", bytes(state.arena_size));
  node.set("in_use_bytes", bytes(state.allocated_bytes));
  node.set("largest_free_block_bytes", bytes(state.largest_free_block));
  node.set("local_arenas", bytes(state.local_arenas));
  node.set("superblocks", bytes(state.superblocks));
  return node;
}

std::size_t binning_reserved(const std::vector<mr::bin_state>& bins) {
  std::size_t reserved = 0;
  for (const mr::bin_state& bin : bins)
    reserved += bin.reserved;
  return reserved;
}

/// A binning layer's own bins (those it made); bins given to it are reported by their owner.
report_node binning_report(const mr::detail::binning_resource_core& binning) {
  const std::vector<mr::bin_state> bins = binning.bins();
  report_node node;
  node.set("reserved_bytes", bytes(binning_reserved(bins)));
  node.set("bins", bytes(bins.size()));
  report_node list = report_node::list();
  for (const mr::bin_state& bin : bins) {
    if (!bin.owned) continue;
    report_node entry;
    entry.set("block_size_bytes", bytes(bin.size));
    entry.set("reserved_bytes", bytes(bin.reserved));
    list.push(std::move(entry));
  }
  if (!list.elements().empty()) node.set("bin", std::move(list));
  return node;
}

report_node fixed_size_report(const mr::detail::fixed_size_resource_core& fixed) {
  report_node node;
  node.set("block_size_bytes", bytes(fixed.get_block_size()));
  node.set("reserved_bytes", bytes(fixed.reserved_bytes()));
  return node;
}

report_node limit_report(const mr::detail::limiting_adaptor_core& limit) {
  const std::size_t size = limit.get_allocation_limit();
  const std::size_t counted = limit.get_allocated_bytes();
  report_node node;
  node.set("limit_bytes", bytes(size));
  node.set("counted_bytes", bytes(counted));
  node.set("headroom_bytes", bytes(size > counted ? size - counted : 0));
  return node;
}

report_node expandable_report(const mr::expandable_memory_resource& expandable) {
  const auto mapping = expandable.statistics();
  report_node node;
  node.set("virtual_bytes", bytes(mapping.reserved_bytes));
  node.set("mapped_bytes", bytes(mapping.mapped_bytes));
  node.set("peak_mapped_bytes", bytes(mapping.peak_mapped_bytes));
  node.set("chunk_size_bytes", bytes(expandable.chunk_size()));
  node.set("maps", bytes(mapping.map_calls));
  node.set("map_time_ms", milliseconds(mapping.map_time));
  node.set("unmaps", bytes(mapping.unmap_calls));
  node.set("unmap_time_ms", milliseconds(mapping.unmap_time));
  return node;
}

report_node statistics_report(const mr::detail::statistics_adaptor_core& statistics) {
  const auto size = statistics.get_bytes_counter();
  const auto count = statistics.get_allocations_counter();
  report_node node;
  node.set("in_use_bytes", size.value);
  node.set("peak_bytes", size.peak);
  node.set("total_bytes", size.total);
  node.set("allocations", count.value);
  node.set("peak_allocations", count.peak);
  node.set("total_allocations", count.total);
  return node;
}

report_node tracking_report(const mr::detail::tracking_adaptor_core& tracking) {
  report_node node;
  node.set("outstanding_allocations", bytes(tracking.get_outstanding_allocations().size()));
  node.set("outstanding_bytes", bytes(tracking.get_allocated_bytes()));
  return node;
}

}  // namespace

report_node layer_report(const mr::device_memory_resource& layer) {
  if (const auto* pool = dynamic_cast<const mr::detail::pool_resource_core*>(&layer))
    return pool_report(*pool);
  if (const auto* arena = dynamic_cast<const mr::detail::arena_resource_core*>(&layer))
    return arena_report(*arena);
  if (const auto* binning = dynamic_cast<const mr::detail::binning_resource_core*>(&layer))
    return binning_report(*binning);
  if (const auto* fixed = dynamic_cast<const mr::detail::fixed_size_resource_core*>(&layer))
    return fixed_size_report(*fixed);
  if (const auto* limit = dynamic_cast<const mr::detail::limiting_adaptor_core*>(&layer))
    return limit_report(*limit);
  if (const auto* expandable = dynamic_cast<const mr::expandable_memory_resource*>(&layer))
    return expandable_report(*expandable);
  if (const auto* statistics = dynamic_cast<const mr::detail::statistics_adaptor_core*>(&layer))
    return statistics_report(*statistics);
  if (const auto* tracking = dynamic_cast<const mr::detail::tracking_adaptor_core*>(&layer))
    return tracking_report(*tracking);
  if (const auto* own = dynamic_cast<const reported_layer*>(&layer)) return own->report();
  return report_node{};
}

report_node layers_report(const config::built_stack& stack) {
  report_node layers;
  for (const std::string& name : stack.names()) {
    report_node figures = layer_report(*stack.find(name));
    // The layer's helpers (the bins a stack made for its binning layer) hold memory for it.
    const std::vector<const mr::device_memory_resource*> helpers = stack.helpers(name);
    if (!helpers.empty()) {
      std::size_t reserved = 0;
      if (const report_node* own = figures.find("reserved_bytes"))
        reserved = static_cast<std::size_t>(own->integer());
      report_node list = report_node::list();
      for (const mr::device_memory_resource* helper : helpers) {
        report_node helper_figures = layer_report(*helper);
        if (const report_node* held = helper_figures.find("reserved_bytes"))
          reserved += static_cast<std::size_t>(held->integer());
        list.push(std::move(helper_figures));
      }
      figures.set("reserved_bytes", bytes(reserved));
      figures.set("bin", std::move(list));
    }
    if (figures.members().empty()) figures.set("holds", "nothing (each call goes below)");
    layers.set(name, std::move(figures));
  }
  return layers;
}

std::size_t held_from_cuda(const config::built_stack& stack) {
  const std::vector<std::string> names = stack.names();  // outermost first
  for (auto name = names.rbegin(); name != names.rend(); ++name) {
    const mr::device_memory_resource& layer = *stack.find(*name);
    if (const auto* expandable = dynamic_cast<const mr::expandable_memory_resource*>(&layer))
      return expandable->statistics().mapped_bytes;
    if (const auto* pool = dynamic_cast<const mr::detail::pool_resource_core*>(&layer))
      return pool->pool_size();
    if (const auto* arena = dynamic_cast<const mr::detail::arena_resource_core*>(&layer))
      return arena->state().arena_size;
    if (const auto* binning = dynamic_cast<const mr::detail::binning_resource_core*>(&layer)) {
      std::size_t reserved = binning_reserved(binning->bins());
      for (const mr::device_memory_resource* helper : stack.helpers(*name)) {
        if (const auto* bin = dynamic_cast<const mr::detail::fixed_size_resource_core*>(helper))
          reserved += bin->reserved_bytes();
      }
      return reserved;
    }
    if (const auto* fixed = dynamic_cast<const mr::detail::fixed_size_resource_core*>(&layer))
      return fixed->reserved_bytes();
    if (const auto* own = dynamic_cast<const reported_layer*>(&layer)) {
      const report_node figures = own->report();
      if (const report_node* reserved = figures.find("reserved_bytes"))
        return static_cast<std::size_t>(reserved->integer());
    }
  }
  return 0;
}

}  // namespace gpumem::preload
