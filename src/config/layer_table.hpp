#pragma once
// Every layer a stack can have above its source, in one table: how the layer is built over the
// one below from its resolved options, and what the report shows of it. The stack builder and
// the shim's report both read it (a test checks it names exactly the schema's layers).

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "config/layer_options.hpp"
#include "core/report_tree.hpp"
#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::config {

/// A layer as built: its resource, and the resources it uses besides the one below (a binning
/// layer's bins; destroyed after the layer).
struct built_layer {
  std::unique_ptr<mr::device_memory_resource> resource;
  std::vector<std::unique_ptr<mr::device_memory_resource>> helpers;
};

/// One kind of layer above a source.
struct layer_kind {
  std::string_view name;
  /**
   * @brief Makes the layer over `below`.
   * @throws what the resource's constructor throws (gpumem::out_of_memory, gpumem::logic_error)
   */
  built_layer (*build)(mr::device_memory_resource& below, const layer_options& options);
  /**
   * @brief What the layer holds and counts (an object; core::report_node says how names carry
   * their units); empty for a layer that holds nothing.
   * @pre `layer` was made by `build`
   */
  core::report_node (*report)(const mr::device_memory_resource& layer);
};

/// Every kind of layer above a source.
std::span<const layer_kind> layer_kinds() noexcept;

/// The kind called `name`, or null (a source, or no layer at all).
const layer_kind* find_layer_kind(std::string_view name) noexcept;

}  // namespace gpumem::config
