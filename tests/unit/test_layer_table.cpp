// The layer table (how each layer above a source is built and reported) names exactly the
// schema's layers above a source: a layer the configuration accepts is one the stack builder
// can build and the report can show, and no other.

#include <gtest/gtest.h>

#include <string>

#include "config/layer_table.hpp"
#include "config/schema.hpp"

namespace {

using gpumem::config::find_layer;
using gpumem::config::find_layer_kind;
using gpumem::config::layer_kinds;
using gpumem::config::layer_role;
using gpumem::config::layers;

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

}  // namespace
