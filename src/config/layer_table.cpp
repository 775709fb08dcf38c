#include "config/layer_table.hpp"

#include <algorithm>
#include <array>

#include "config/stack_builder.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/mr/aligned_resource_adaptor.hpp"
#include "gpumem/mr/arena_memory_resource.hpp"
#include "gpumem/mr/binning_memory_resource.hpp"
#include "gpumem/mr/fixed_size_memory_resource.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"
#include "gpumem/mr/logging_resource_adaptor.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "gpumem/mr/prefetch_resource_adaptor.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"
#include "gpumem/mr/tracking_resource_adaptor.hpp"

namespace gpumem::config {
namespace {

using core::report_node;
using upstream_type = mr::device_memory_resource;

static_assert(kSmallestArena == mr::detail::arena_resource_core::superblock_size,
              "the configuration's smallest arena is one superblock");

std::uint64_t bytes(std::size_t value) {
  return static_cast<std::uint64_t>(value);
}

template <typename Resource, typename... Arguments>
built_layer made(Arguments&&... arguments) {
  return built_layer{std::make_unique<Resource>(std::forward<Arguments>(arguments)...), {}};
}

/// The core a layer was built as (the table built it: the cast cannot fail).
template <typename Core>
const Core& as(const upstream_type& layer) {
  return static_cast<const Core&>(layer);
}

report_node nothing(const upstream_type&) {
  return report_node{};
}

// --- pool
built_layer build_pool(upstream_type& below, const layer_options& options) {
  auto pool = std::make_unique<mr::pool_memory_resource<upstream_type>>(
      below,
      options.aligned_bytes("initial_size").value_or(0),
      options.aligned_bytes("maximum_size"));
  if (const auto threshold = options.bytes("release_threshold"))
    pool->set_release_threshold(*threshold);
  return built_layer{std::move(pool), {}};
}

report_node report_pool(const upstream_type& layer) {
  const auto& pool = as<mr::detail::pool_resource_core>(layer);
  const mr::pool_state state = pool.state();
  const std::size_t free = state.pool_size - state.allocated_bytes;
  report_node node;
  node.set("reserved_bytes", bytes(state.pool_size));
  node.set("in_use_bytes", bytes(state.allocated_bytes));
  node.set("free_bytes", bytes(free));
  node.set("largest_free_block_bytes", bytes(state.largest_free_block));
  node.set("fragmentation_percent", 100.0 * state.fragmentation());
  node.set("allocated_blocks", bytes(state.allocated_blocks));
  node.set("free_blocks", bytes(state.free_blocks));
  node.set("streams", bytes(state.streams));
  if (const auto maximum = pool.maximum_pool_size()) node.set("maximum_bytes", bytes(*maximum));
  return node;
}

// --- arena
built_layer build_arena(upstream_type& below, const layer_options& options) {
  return made<mr::arena_memory_resource<upstream_type>>(
      below, options.aligned_bytes("size"), options.flag("dump_on_failure"));
}

report_node report_arena(const upstream_type& layer) {
  const mr::arena_state state = as<mr::detail::arena_resource_core>(layer).state();
  report_node node;
  node.set("reserved_bytes", bytes(state.arena_size));
  node.set("in_use_bytes", bytes(state.allocated_bytes));
  node.set("largest_free_block_bytes", bytes(state.largest_free_block));
  node.set("local_arenas", bytes(state.local_arenas));
  node.set("superblocks", bytes(state.superblocks));
  return node;
}

// --- binning: bins of RMM's default form, each a fixed-size resource over the layer below
// taking `bin_blocks` blocks at a time (the stack owns them as the layer's helpers).
built_layer build_binning(upstream_type& below, const layer_options& options) {
  built_layer layer;
  auto binning = std::make_unique<mr::binning_memory_resource<upstream_type>>(below);
  for (const std::uint64_t size : options.sizes("bins")) {
    auto bin = std::make_unique<mr::fixed_size_memory_resource<upstream_type>>(
        below, align_up(size, CUDA_ALLOCATION_ALIGNMENT), options.count("bin_blocks"));
    binning->add_bin(size, device_async_resource_ref{*bin});
    layer.helpers.push_back(std::move(bin));
  }
  layer.resource = std::move(binning);
  return layer;
}

report_node report_binning(const upstream_type& layer) {
  const std::vector<mr::bin_state> bins = as<mr::detail::binning_resource_core>(layer).bins();
  report_node node;
  std::size_t reserved = 0;
  report_node list = report_node::list();
  for (const mr::bin_state& bin : bins) {
    if (!bin.owned) continue;  // bins given to it are reported by their owner
    reserved += bin.reserved;
    report_node entry;
    entry.set("block_size_bytes", bytes(bin.size));
    entry.set("reserved_bytes", bytes(bin.reserved));
    list.push(std::move(entry));
  }
  node.set("reserved_bytes", bytes(reserved));
  node.set("bins", bytes(bins.size()));
  if (!list.elements().empty()) node.set("bin", std::move(list));
  return node;
}

// --- fixed_size
built_layer build_fixed_size(upstream_type& below, const layer_options& options) {
  return made<mr::fixed_size_memory_resource<upstream_type>>(
      below, options.bytes("block_size").value_or(std::size_t{1} << 20), options.count("blocks"));
}

report_node report_fixed_size(const upstream_type& layer) {
  const auto& fixed = as<mr::detail::fixed_size_resource_core>(layer);
  report_node node;
  node.set("block_size_bytes", bytes(fixed.get_block_size()));
  node.set("reserved_bytes", bytes(fixed.reserved_bytes()));
  return node;
}

// --- adaptors
built_layer build_statistics(upstream_type& below, const layer_options&) {
  return made<mr::statistics_resource_adaptor<upstream_type>>(below);
}

report_node report_statistics(const upstream_type& layer) {
  const auto& statistics = as<mr::detail::statistics_adaptor_core>(layer);
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

built_layer build_logging(upstream_type& below, const layer_options& options) {
  return made<mr::logging_resource_adaptor<upstream_type>>(
      below, with_pid(options.text("file")), options.text("flush") == "every_event");
}

built_layer build_tracking(upstream_type& below, const layer_options& options) {
  return made<mr::tracking_resource_adaptor<upstream_type>>(below, options.flag("stack_traces"));
}

report_node report_tracking(const upstream_type& layer) {
  const auto& tracking = as<mr::detail::tracking_adaptor_core>(layer);
  report_node node;
  node.set("outstanding_allocations", bytes(tracking.get_outstanding_allocations().size()));
  node.set("outstanding_bytes", bytes(tracking.get_allocated_bytes()));
  return node;
}

built_layer build_limit(upstream_type& below, const layer_options& options) {
  return made<mr::limiting_resource_adaptor<upstream_type>>(below,
                                                            options.bytes("size").value_or(0));
}

report_node report_limit(const upstream_type& layer) {
  const auto& limit = as<mr::detail::limiting_adaptor_core>(layer);
  const std::size_t size = limit.get_allocation_limit();
  const std::size_t counted = limit.get_allocated_bytes();
  report_node node;
  node.set("limit_bytes", bytes(size));
  node.set("counted_bytes", bytes(counted));
  node.set("headroom_bytes", bytes(size > counted ? size - counted : 0));
  return node;
}

built_layer build_aligned(upstream_type& below, const layer_options& options) {
  return made<mr::aligned_resource_adaptor<upstream_type>>(
      below,
      options.bytes("alignment").value_or(CUDA_ALLOCATION_ALIGNMENT),
      options.bytes("threshold").value_or(0));
}

built_layer build_prefetch(upstream_type& below, const layer_options&) {
  return made<mr::prefetch_resource_adaptor<upstream_type>>(below);
}

constexpr std::array kLayerKinds{
    layer_kind{"pool", &build_pool, &report_pool},
    layer_kind{"arena", &build_arena, &report_arena},
    layer_kind{"binning", &build_binning, &report_binning},
    layer_kind{"fixed_size", &build_fixed_size, &report_fixed_size},
    layer_kind{"statistics", &build_statistics, &report_statistics},
    layer_kind{"logging", &build_logging, &nothing},
    layer_kind{"tracking", &build_tracking, &report_tracking},
    layer_kind{"limit", &build_limit, &report_limit},
    layer_kind{"aligned", &build_aligned, &nothing},
    layer_kind{"prefetch", &build_prefetch, &nothing},
};

}  // namespace

std::span<const layer_kind> layer_kinds() noexcept {
  return kLayerKinds;
}

const layer_kind* find_layer_kind(std::string_view name) noexcept {
  const auto found = std::find_if(kLayerKinds.begin(),
                                  kLayerKinds.end(),
                                  [name](const layer_kind& k) { return k.name == name; });
  return found == kLayerKinds.end() ? nullptr : &*found;
}

}  // namespace gpumem::config
