#pragma once
// What each layer of a stack holds and did, for the shim's report: a pool's reserved and free
// memory, a binning layer's bins, a limit's headroom, the expandable source's mappings, ...

#include <cstdint>

#include "config/stack_builder.hpp"
#include "core/report_tree.hpp"

namespace gpumem::preload {

/// A layer of the shim's own making (a source on the driver) that says what it holds.
class reported_layer {
 public:
  reported_layer() = default;
  reported_layer(const reported_layer&) = default;
  reported_layer& operator=(const reported_layer&) = default;
  reported_layer(reported_layer&&) = default;
  reported_layer& operator=(reported_layer&&) = default;
  virtual ~reported_layer() = default;

  /// Its figures (an object; see core::report_node for the names' units).
  [[nodiscard]] virtual core::report_node report() const = 0;
};

/// Every layer of `stack`, outermost first, each under its name.
core::report_node layers_report(const config::built_stack& stack);

/**
 * @brief The bytes a stack took from CUDA and holds, from its layers' figures (layers_report):
 * what its lowest holding layer holds (the expandable source's mapped bytes, the driver pool's
 * reserve, or the lowest sub-allocator's reserved bytes); 0 when every allocation goes to CUDA
 * as it comes.
 */
std::uint64_t held_from_cuda(const core::report_node& layers);

}  // namespace gpumem::preload
