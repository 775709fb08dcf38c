#include "config/stack_builder.hpp"

#include <unistd.h>

#include <algorithm>

#include "config/layer_options.hpp"
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

using resource_ptr = std::unique_ptr<mr::device_memory_resource>;
using upstream_type = mr::device_memory_resource;

static_assert(kSmallestArena == mr::detail::arena_resource_core::superblock_size,
              "the configuration's smallest arena is one superblock");

}  // namespace

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
    resource_ptr made;
    std::vector<resource_ptr> helpers;
    if (built.layers_.empty()) {
      made = make_source(layer);
    } else {
      upstream_type& below = *built.layers_.back().resource;
      if (layer.name == "pool") {
        auto pool = std::make_unique<mr::pool_memory_resource<upstream_type>>(
            below,
            options.aligned_bytes("initial_size").value_or(0),
            options.aligned_bytes("maximum_size"));
        if (const auto threshold = options.bytes("release_threshold"))
          pool->set_release_threshold(*threshold);
        made = std::move(pool);
      } else if (layer.name == "arena") {
        made = std::make_unique<mr::arena_memory_resource<upstream_type>>(
            below, options.aligned_bytes("size"), options.flag("dump_on_failure"));
      } else if (layer.name == "binning") {
        auto binning = std::make_unique<mr::binning_memory_resource<upstream_type>>(below);
        for (const std::uint64_t size : options.sizes("bins")) {
          // Bins of RMM's default form, but taking `bin_blocks` blocks at a time.
          auto bin = std::make_unique<mr::fixed_size_memory_resource<upstream_type>>(
              below, align_up(size, CUDA_ALLOCATION_ALIGNMENT), options.count("bin_blocks"));
          binning->add_bin(size, device_async_resource_ref{*bin});
          helpers.push_back(std::move(bin));
        }
        made = std::move(binning);
      } else if (layer.name == "fixed_size") {
        made = std::make_unique<mr::fixed_size_memory_resource<upstream_type>>(
            below,
            options.bytes("block_size").value_or(std::size_t{1} << 20),
            options.count("blocks"));
      } else if (layer.name == "statistics") {
        made = std::make_unique<mr::statistics_resource_adaptor<upstream_type>>(below);
      } else if (layer.name == "logging") {
        made = std::make_unique<mr::logging_resource_adaptor<upstream_type>>(
            below, with_pid(options.text("file")), options.text("flush") == "every_event");
      } else if (layer.name == "tracking") {
        made = std::make_unique<mr::tracking_resource_adaptor<upstream_type>>(
            below, options.flag("stack_traces"));
      } else if (layer.name == "limit") {
        made = std::make_unique<mr::limiting_resource_adaptor<upstream_type>>(
            below, options.bytes("size").value_or(0));
      } else if (layer.name == "aligned") {
        made = std::make_unique<mr::aligned_resource_adaptor<upstream_type>>(
            below,
            options.bytes("alignment").value_or(CUDA_ALLOCATION_ALIGNMENT),
            options.bytes("threshold").value_or(0));
      } else if (layer.name == "prefetch") {
        made = std::make_unique<mr::prefetch_resource_adaptor<upstream_type>>(below);
      } else {
        throw gpumem::logic_error{"gpumem: cannot build a layer '" + layer.name +
                                  "' above another"};
      }
    }
    built.layers_.push_back({layer.name, std::move(helpers), std::move(made)});
  }
  return built;
}

}  // namespace gpumem::config
