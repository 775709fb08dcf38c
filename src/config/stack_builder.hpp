#pragma once
// Turns a resolved stack into resources: the source at the bottom, each layer over the one
// below, the outermost on top. The shim builds one such stack per device (and one for managed
// memory); `gpumem::config::build_stack` is also usable on its own.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/configuration.hpp"
#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::config {

/// A stack of resources; owns every layer.
class built_stack {
 public:
  built_stack() = default;
  built_stack(const built_stack&) = delete;
  built_stack& operator=(const built_stack&) = delete;
  built_stack(built_stack&&) noexcept = default;
  built_stack& operator=(built_stack&&) noexcept = default;
  /// Destroys the layers from the top down (each layer before the one it draws from).
  ~built_stack();

  /// The outermost layer: where allocations enter.
  [[nodiscard]] mr::device_memory_resource& top() const { return *layers_.back().resource; }

  /// A layer by name ("pool", "statistics"), or null when the stack has none.
  [[nodiscard]] mr::device_memory_resource* find(std::string_view name) const;

  /// The resources a layer uses besides the one below (a binning layer's bins, smallest first).
  [[nodiscard]] std::vector<const mr::device_memory_resource*> helpers(std::string_view name) const;
  /// The layers' names, outermost first.
  [[nodiscard]] std::vector<std::string> names() const;

 private:
  friend built_stack build_stack(
      const resolved_stack&,
      std::uint64_t,
      const std::function<std::unique_ptr<mr::device_memory_resource>(const resolved_layer&)>&);

  struct layer {
    std::string name;
    /// Resources the layer uses besides the one below (a binning layer's bins); declared
    /// before `resource` so they are destroyed after it.
    std::vector<std::unique_ptr<mr::device_memory_resource>> helpers;
    std::unique_ptr<mr::device_memory_resource> resource;
  };
  std::vector<layer> layers_;  ///< bottom (the source) first
};

/// Makes a stack's source (its bottom layer: cuda, cuda_async or managed).
using source_factory =
    std::function<std::unique_ptr<mr::device_memory_resource>(const resolved_layer&)>;

/// The library's sources: cudaMalloc, the driver pool through cudaMallocAsync, cudaMallocManaged.
source_factory runtime_sources(std::uint64_t device_total_bytes);

/**
 * @brief Builds `stack` for the current device, whose memory is `device_total_bytes` (for
 * shares).
 * @pre the stack is valid (configuration::valid())
 * @throws gpumem::out_of_memory when a layer cannot take its initial memory
 * @throws gpumem::logic_error when a value is refused by a layer
 */
built_stack build_stack(const resolved_stack& stack,
                        std::uint64_t device_total_bytes,
                        const source_factory& make_source);

/// `text` with every "{pid}" replaced by the process id.
std::string with_pid(std::string text);

}  // namespace gpumem::config
