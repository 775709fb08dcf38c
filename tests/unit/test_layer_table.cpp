// The layer table (how each layer above a source is built and reported) names exactly the
// schema's layers above a source: a layer the configuration accepts is one the stack builder
// can build and the report can show, and no other. And the stack built is the one the
// configuration resolved and validated (what `gpumem check` prints), override included.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/configuration.hpp"
#include "config/layer_table.hpp"
#include "config/schema.hpp"
#include "config/stack_builder.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"

namespace {

using gpumem::config::find_layer;
using gpumem::config::find_layer_kind;
using gpumem::config::layer_kinds;
using gpumem::config::layer_role;
using gpumem::config::layers;

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

/// A source that hands out nothing: building a stack over it calls no CUDA.
class no_memory final : public gpumem::mr::device_memory_resource {
  void* do_allocate(std::size_t, gpumem::cuda_stream_view) override { return nullptr; }
  void do_deallocate(void*, std::size_t, gpumem::cuda_stream_view) override {}
};

gpumem::config::built_stack built(const gpumem::config::resolved_stack& stack) {
  return gpumem::config::build_stack(stack, 4 * kGiB, [](const gpumem::config::resolved_layer&) {
    return std::make_unique<no_memory>();
  });
}

std::vector<std::string> names(const gpumem::config::resolved_stack& stack) {
  std::vector<std::string> result;
  for (const auto& layer : stack.layers)
    result.push_back(layer.name);
  return result;
}

std::size_t limit_of(const gpumem::config::built_stack& stack) {
  const auto* limit =
      dynamic_cast<const gpumem::mr::detail::limiting_adaptor_core*>(stack.find("limit"));
  return limit == nullptr ? 0 : limit->get_allocation_limit();
}

TEST(LayerTable, EverySchemaLayerAboveASourceHasAKind) {
  for (const auto& spec : layers()) {
    const auto* kind = find_layer_kind(spec.name);
    if (spec.role == layer_role::source) {
      EXPECT_EQ(kind, nullptr) << spec.name << " is a source: the source factory makes it";
    } else {
      ASSERT_NE(kind, nullptr) << std::string{spec.name} << " has no way to be built";
      EXPECT_NE(kind->build, nullptr) << spec.name;
      EXPECT_NE(kind->report, nullptr) << spec.name;
    }
  }
}

TEST(LayerTable, EveryKindIsASchemaLayerAboveASource) {
  for (const auto& kind : layer_kinds()) {
    const auto* spec = find_layer(kind.name);
    ASSERT_NE(spec, nullptr) << std::string{kind.name} << " is not a layer the schema knows";
    EXPECT_NE(spec->role, layer_role::source) << kind.name;
  }
  EXPECT_EQ(find_layer_kind("no_such_layer"), nullptr);
}

TEST(LayerTable, TheStackBuiltIsTheStackValidated) {
  const auto config =
      gpumem::config::configuration::load(std::nullopt,
                                          {{"GPUMEM_STACK", "limit,statistics,cuda"},
                                           {"GPUMEM_LIMIT_SIZE", "3GiB"},
                                           {"GPUMEM_DEVICE1_LIMIT_SIZE", "25%"},
                                           {"GPUMEM_DEVICE2_STACK", "statistics,cuda"}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  // Resolved once, at load: every call gives the stack that was validated.
  EXPECT_EQ(&config.device_stack(1), &config.device_stack(1));
  EXPECT_EQ(&config.device_stack(0), &config.device_stack(-1)) << "no override: [device]'s";
  EXPECT_EQ(config.device_stack(1).label, "[devices.1]");
  EXPECT_EQ(config.device_stack(0).label, "[device]");
  for (const int device : {0, 1, 2}) {
    EXPECT_TRUE(config.check_for_device(device, 4 * kGiB).empty()) << device;
    EXPECT_EQ(built(config.device_stack(device)).names(), names(config.device_stack(device)))
        << device;
  }
  EXPECT_EQ(limit_of(built(config.device_stack(0))), 3 * kGiB);
  EXPECT_EQ(limit_of(built(config.device_stack(1))), kGiB) << "the override's share of 4 GiB";
  EXPECT_EQ(limit_of(built(config.device_stack(2))), 0U) << "its own stack has no limit";
  EXPECT_FALSE(config.check_for_device(0, 2 * kGiB).empty()) << "3 GiB on a 2 GiB device";
  EXPECT_TRUE(config.check_for_device(1, 2 * kGiB).empty()) << "the override's share fits";
}

}  // namespace
