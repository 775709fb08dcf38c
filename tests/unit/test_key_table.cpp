// `gpumem keys`: the table of every setting is generated from the schema, and each variable
// it names is one the loader reads, into the option the row names.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "config/configuration.hpp"
#include "config/key_table.hpp"
#include "config/schema.hpp"

namespace {

using gpumem::config::configuration;
using gpumem::config::layer_role;
using gpumem::config::option_spec;
using gpumem::config::option_type;

struct table_row {
  std::string key;
  std::string variable;
};

/// The first two cells of every row after the header, without their backticks.
std::vector<table_row> rows_of(const std::string& table) {
  std::vector<table_row> rows;
  std::istringstream lines{table};
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    if (++number <= 2) continue;  // the header and its rule
    std::vector<std::string> cells;
    std::size_t start = 1;
    for (std::size_t bar = line.find(" | ", start); bar != std::string::npos;
         bar = line.find(" | ", start)) {
      cells.push_back(line.substr(start, bar - start));
      start = bar + 3;
    }
    const auto strip = [](std::string cell) {
      while (!cell.empty() && (cell.front() == ' ' || cell.front() == '`'))
        cell.erase(0, 1);
      while (!cell.empty() && (cell.back() == ' ' || cell.back() == '`'))
        cell.pop_back();
      return cell;
    };
    if (cells.size() >= 2) rows.push_back({strip(cells[0]), strip(cells[1])});
  }
  return rows;
}

/// A value the loader accepts for `spec`, written as a variable's value.
std::string sample(const option_spec& spec) {
  switch (spec.type) {
    case option_type::size:
    case option_type::size_or_share:
      return "8MiB";  // valid for every size key (an arena holds at least 4 MiB)
    case option_type::size_list:
      return "1MiB,2MiB";
    case option_type::boolean:
      return "true";
    case option_type::count:
      return "3";
    case option_type::choice:
      return std::string{spec.choices.back()};
    case option_type::text:
      return "x.txt";
  }
  return "";
}

const table_row* find_row(const std::vector<table_row>& rows, const std::string& key) {
  for (const auto& row : rows) {
    if (row.key == key) return &row;
  }
  return nullptr;
}

/// The shortest GPUMEM_STACK that has `layer`: the source alone, or the layer over cuda.
std::string smallest_stack_with(const gpumem::config::layer_spec& layer) {
  return layer.role == layer_role::source ? std::string{layer.name}
                                          : std::string{layer.name} + ",cuda";
}

TEST(KeyTable, HeaderAndOneRowALine) {
  const std::string table = gpumem::config::markdown_key_table();
  EXPECT_TRUE(table.starts_with(
      "| key | environment variable | type | default | meaning |\n|---|---|---|---|---|\n"));
  EXPECT_TRUE(table.ends_with(" |\n"));
  std::istringstream lines{table};
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(line.starts_with("|") && line.ends_with("|")) << line;
    // Five cells: six bars that are not escaped.
    std::size_t bars = 0;
    for (std::size_t i = 0; i < line.size(); ++i)
      bars += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    EXPECT_EQ(bars, 6U) << line;
  }
}

TEST(KeyTable, EveryProcessOptionIsReadFromItsVariable) {
  const auto rows = rows_of(gpumem::config::markdown_key_table());
  for (const auto& option : gpumem::config::process_options()) {
    const table_row* row = find_row(rows, std::string{option.key});
    ASSERT_NE(row, nullptr) << option.key;
    const auto config = configuration::load(std::nullopt, {{row->variable, sample(option)}});
    ASSERT_TRUE(config.valid()) << row->variable << ": " << config.errors().front();
    EXPECT_EQ(config.process(option.key).from.describe(), "environment " + row->variable);
  }
}

TEST(KeyTable, EveryLayerOptionIsReadFromItsVariable) {
  const auto rows = rows_of(gpumem::config::markdown_key_table());
  std::size_t checked = 0;
  for (const auto& layer : gpumem::config::layers()) {
    for (const auto& option : layer.options) {
      const std::string key = "[device." + std::string{layer.name} + "] " + std::string{option.key};
      const table_row* row = find_row(rows, key);
      ASSERT_NE(row, nullptr) << key;
      const std::string stack = smallest_stack_with(layer);
      const auto config = configuration::load(
          std::nullopt, {{"GPUMEM_STACK", stack}, {row->variable, sample(option)}});
      ASSERT_TRUE(config.valid()) << row->variable << ": " << config.errors().front();
      bool found = false;
      for (const auto& resolved : config.device_stack(0).layers) {
        for (const auto& [spec, value] : resolved.options) {
          if (resolved.name == layer.name && spec->key == option.key) {
            found = value.has_value() && value->from.describe() == "environment " + row->variable;
          }
        }
      }
      EXPECT_TRUE(found) << row->variable << " does not set " << key;
      ++checked;
    }
  }
  EXPECT_GT(checked, 10U);
}

// A default is a value a user may write: the table shows it, and writing it changes nothing.
TEST(KeyTable, EveryDefaultIsAValueTheLoaderAccepts) {
  const auto rows = rows_of(gpumem::config::markdown_key_table());
  std::size_t checked = 0;
  for (const auto& layer : gpumem::config::layers()) {
    for (const auto& option : layer.options) {
      std::string text{option.default_text};
      std::erase_if(text, [](char c) { return c == '[' || c == ']' || c == '"' || c == ' '; });
      if (text.empty()) continue;
      const std::string key = "[device." + std::string{layer.name} + "] " + std::string{option.key};
      const table_row* row = find_row(rows, key);
      ASSERT_NE(row, nullptr) << key;
      const std::string stack = smallest_stack_with(layer);
      const auto config =
          configuration::load(std::nullopt, {{"GPUMEM_STACK", stack}, {row->variable, text}});
      EXPECT_TRUE(config.valid()) << row->variable << "=" << text << ": "
                                  << (config.errors().empty() ? "" : config.errors().front());
      ++checked;
    }
  }
  EXPECT_GT(checked, 10U);
}

TEST(KeyTable, StackVariablesAreTheLoaders) {
  const auto rows = rows_of(gpumem::config::markdown_key_table());
  const table_row* device = find_row(rows, "[device] stack");
  const table_row* managed = find_row(rows, "[managed] stack");
  const table_row* devices = find_row(rows, "[devices.N] stack");
  ASSERT_NE(device, nullptr);
  ASSERT_NE(managed, nullptr);
  ASSERT_NE(devices, nullptr);
  const auto config = configuration::load(std::nullopt,
                                          {{device->variable, "statistics,cuda"},
                                           {managed->variable, "prefetch,managed"},
                                           {"GPUMEM_DEVICE7_STACK", "cuda_async"}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(config.device_stack(0).layers_from.describe(), "environment " + device->variable);
  EXPECT_EQ(config.managed_stack().layers_from.describe(), "environment " + managed->variable);
  EXPECT_EQ(devices->variable, "GPUMEM_DEVICE<N>_STACK");
  EXPECT_EQ(config.device_stack(7).layers_from.describe(), "environment GPUMEM_DEVICE7_STACK");
}

TEST(KeyTable, ScopedVariablesFollowTheLoadersMapping) {
  const auto rows = rows_of(gpumem::config::markdown_key_table());
  const table_row* managed = find_row(rows, "[managed.<layer>] <key>");
  const table_row* devices = find_row(rows, "[devices.N.<layer>] <key>");
  ASSERT_NE(managed, nullptr);
  ASSERT_NE(devices, nullptr);
  EXPECT_EQ(managed->variable, "GPUMEM_MANAGED_<LAYER>_<KEY>");
  EXPECT_EQ(devices->variable, "GPUMEM_DEVICE<N>_<LAYER>_<KEY>");
  const auto config = configuration::load(std::nullopt,
                                          {{"GPUMEM_MANAGED_STACK", "pool,managed"},
                                           {"GPUMEM_MANAGED_POOL_INITIAL_SIZE", "1GiB"},
                                           {"GPUMEM_DEVICE3_POOL_MAXIMUM_SIZE", "2GiB"}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(config.managed_stack().layers[0].options[0].second->from.describe(),
            "environment GPUMEM_MANAGED_POOL_INITIAL_SIZE");
  EXPECT_EQ(config.device_stack(3).layers[0].options[1].second->from.describe(),
            "environment GPUMEM_DEVICE3_POOL_MAXIMUM_SIZE");
}

TEST(KeyTable, EveryLayerIsNamedInTheStackRow) {
  const std::string table = gpumem::config::markdown_key_table();
  const auto start = table.find("| `[device] stack` |");
  ASSERT_NE(start, std::string::npos);
  const std::string row = table.substr(start, table.find('\n', start) - start);
  for (const auto& layer : gpumem::config::layers()) {
    EXPECT_NE(row.find("`" + std::string{layer.name} + "`"), std::string::npos) << layer.name;
  }
}

}  // namespace
