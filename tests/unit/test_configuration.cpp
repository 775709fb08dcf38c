// The configuration: a TOML file and GPUMEM_* variables read into a configuration, every
// mistake a message that names the place, the key, what was found and what is allowed.
// Host only: nothing here calls CUDA (shares are resolved with check_for_device's sizes).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/configuration.hpp"

namespace {

using gpumem::config::configuration;
using gpumem::config::environment;
using gpumem::config::option_setting;
using gpumem::config::origin;
using gpumem::config::resolved_stack;

constexpr std::uint64_t kGiB = 1ULL << 30;

/// A folder of its own for each test's files, removed afterwards.
class Configuration : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "gpumem-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    folder_ = pattern;
    path_ = (folder_ / "gpumem.toml").string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }

  /// Writes `text` to `name` in the test's folder; returns the path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = (folder_ / name).string();
    std::ofstream{path, std::ios::binary} << text;
    return path;
  }

  /// Loads `text`, written to path_, with `env`.
  configuration load(const std::string& text, const environment& env = {}) const {
    write("gpumem.toml", text);
    return configuration::load(path_, env);
  }

  std::filesystem::path folder_;
  std::string path_;  ///< the file load() writes
};

configuration load_environment(const environment& env) {
  return configuration::load(std::nullopt, env);
}

/// The value of `layer`'s option `key` in a resolved stack (fails the test when absent).
const option_setting& option_of(const resolved_stack& stack,
                                const std::string& layer,
                                const std::string& key) {
  for (const auto& entry : stack.layers) {
    if (entry.name != layer) continue;
    for (const auto& [spec, value] : entry.options) {
      if (spec->key == key && value) return *value;
    }
  }
  static const option_setting none{};
  ADD_FAILURE() << "no value of " << layer << " " << key;
  return none;
}

std::uint64_t bytes(const option_setting& setting) {
  const auto& size = std::get<gpumem::core::byte_size>(setting.value);
  return size.bytes.value_or(0);
}

std::vector<std::string> names(const resolved_stack& stack) {
  std::vector<std::string> result;
  for (const auto& layer : stack.layers)
    result.push_back(layer.name);
  return result;
}

using messages = std::vector<std::string>;

// --- the file: place, key, what was found, what is allowed, a near miss

TEST_F(Configuration, AFloodOfProblemsIsShownAsAScreenfulAndACount) {
  std::string text = "[device.pool]\n";
  for (int i = 0; i < 200; ++i)
    text += "colour" + std::to_string(i) + " = 1\n";
  const auto config = load(text, {});
  ASSERT_EQ(config.errors().size(), 200U);
  const auto shown = gpumem::config::shown_problems(config.errors());
  ASSERT_EQ(shown.size(), gpumem::config::kShownProblems + 1);
  EXPECT_EQ(shown.front(), config.errors().front());
  EXPECT_EQ(shown.back(), "gpumem: and 150 more problems, not shown (fix these first)");
  EXPECT_EQ(gpumem::config::shown_problems({"gpumem: one"}),
            std::vector<std::string>{"gpumem: one"});
}

TEST_F(Configuration, StrayVariablesAndOrphanOptionsAreToleratedAtRunTimeOnly) {
  const auto stray = load_environment({{"GPUMEM_FOO", "1"}});
  EXPECT_FALSE(stray.valid()) << "gpumem check reports it";
  EXPECT_TRUE(stray.valid_to_run()) << "a running program ignores it";
  EXPECT_EQ(stray.tolerable_problems(), stray.errors());
  const auto orphan =
      load_environment({{"GPUMEM_STACK", "arena,cuda"}, {"GPUMEM_POOL_INITIAL_SIZE", "1GiB"}});
  EXPECT_FALSE(orphan.valid());
  EXPECT_TRUE(orphan.valid_to_run());
  // A bad value of a known key is not tolerated.
  const auto bad = load_environment({{"GPUMEM_FOO", "1"}, {"GPUMEM_POOL_INITIAL_SIZE", "lots"}});
  EXPECT_FALSE(bad.valid_to_run());
  EXPECT_EQ(bad.tolerable_problems().size(), 1U);
  EXPECT_EQ(bad.errors().size(), 2U);
}

TEST_F(Configuration, AToleratedProblemHidesNoValueProblem) {
  // The shim would ignore the stray variable and run a limit of 0 B: gpumem check says so too.
  const auto config = load_environment({{"GPUMEM_WHATEVER", "1"}, {"GPUMEM_STACK", "limit,cuda"}});
  EXPECT_EQ(config.errors(),
            (messages{"gpumem: GPUMEM_WHATEVER='1': unknown variable (see README.md, Configuration "
                      "keys, for every variable)",
                      "gpumem: GPUMEM_STACK: [device] stack has the limit layer but no size: set "
                      "[device.limit] size = \"40GiB\" or GPUMEM_LIMIT_SIZE=40GiB"}));
  EXPECT_FALSE(config.valid_to_run());
}

TEST_F(Configuration, UnknownKeyNamesPlaceAndSuggestsTheNearMiss) {
  const auto config = load("[device.pool]\ninitail_size = \"1GiB\"\n");
  EXPECT_EQ(
      config.errors(),
      messages{"gpumem: " + path_ +
               ":2:1: [device.pool]: unknown key 'initail_size'; did you mean initial_size?"});
  EXPECT_FALSE(config.valid());
}

TEST_F(Configuration, UnknownKeyFarFromAnyListsTheKnownKeys) {
  const auto config = load("[device.pool]\ncolour = 1\n");
  EXPECT_EQ(config.errors(),
            messages{"gpumem: " + path_ +
                     ":2:1: [device.pool]: unknown key 'colour' (known: initial_size, "
                     "maximum_size, release_threshold)"});
}

TEST_F(Configuration, UnknownTableAndStackKeyAreNearMisses) {
  const auto config = load("[devise]\n[managed]\nstak = [\"managed\"]\n");
  EXPECT_EQ(
      config.errors(),
      (messages{"gpumem: " + path_ + ":1:2: unknown key 'devise'; did you mean device?",
                "gpumem: " + path_ +
                    ":3:1: [managed]: unknown key 'stak': a key is stack or a layer's name; did "
                    "you mean stack?"}));
}

TEST_F(Configuration, WrongTypeSaysWhatWasFoundAndWhatIsAllowed) {
  const auto config = load("report = 5\n[device.pool]\ninitial_size = { bytes = 1 }\n");
  EXPECT_EQ(
      config.errors(),
      (messages{"gpumem: " + path_ +
                    ":1:10: report = 5: expected one of off, text, json, found a whole number",
                "gpumem: " + path_ +
                    ":3:16: [device.pool] initial_size: expected a size such as \"4GiB\" or a "
                    "share of device memory such as \"50%\", found a table"}));
}

TEST_F(Configuration, ChoiceNearMissIsSuggested) {
  const auto config = load("report = \"txt\"\n");
  EXPECT_EQ(config.errors(),
            messages{"gpumem: " + path_ +
                     ":1:10: report = \"txt\": not one of off, text, json; did you mean text?"});
}

TEST_F(Configuration, SizeThatDoesNotParseIsShownWithTheReason) {
  const auto config =
      load("quarantine_size = \"4 gigs\"\n[device.pool]\ninitial_size = \"lots\"\n");
  EXPECT_EQ(
      config.errors(),
      (messages{"gpumem: " + path_ +
                    ":1:19: quarantine_size = \"4 gigs\": unknown unit 'gigs' (use B, KiB, MiB, "
                    "GiB, TiB, KB, MB, GB, TB, K, M, G, T)",
                "gpumem: " + path_ +
                    ":3:16: [device.pool] initial_size = \"lots\": a size starts with a number, "
                    "as in 512MiB or 4GiB"}));
}

TEST_F(Configuration, ShareIsRefusedWhereOnlyBytesMakeSense) {
  const auto config = load("quarantine_size = \"10%\"\n");
  EXPECT_EQ(
      config.errors(),
      messages{"gpumem: " + path_ +
               ":1:19: quarantine_size = \"10%\": a share (N%) is not allowed here, only bytes, as "
               "in 4096 or \"512MiB\""});
}

TEST_F(Configuration, OptionOfALayerWithoutOptions) {
  const auto config = load("[device.cuda]\ndevice = 1\n");
  EXPECT_EQ(
      config.errors(),
      messages{"gpumem: " + path_ + ":2:1: [device.cuda] device: the cuda layer has no options"});
}

TEST_F(Configuration, InvalidTomlNamesThePlace) {
  const auto config = load("report = \"text\"\n[device\n");
  ASSERT_EQ(config.errors().size(), 1U);
  EXPECT_TRUE(config.errors()[0].starts_with("gpumem: " + path_ + ":2:8: not valid TOML: "))
      << config.errors()[0];
}

TEST_F(Configuration, MessagesComeInTheFilesOrder) {
  const auto config =
      load("report = \"loud\"\n[device.pool]\nmaximum_size = \"x\"\ninitial_size = \"y\"\n");
  ASSERT_EQ(config.errors().size(), 3U);
  EXPECT_TRUE(config.errors()[0].starts_with("gpumem: " + path_ + ":1:10: report"))
      << config.errors()[0];
  EXPECT_TRUE(
      config.errors()[1].starts_with("gpumem: " + path_ + ":3:16: [device.pool] maximum_size"))
      << config.errors()[1];
  EXPECT_TRUE(
      config.errors()[2].starts_with("gpumem: " + path_ + ":4:16: [device.pool] initial_size"))
      << config.errors()[2];
}

TEST_F(Configuration, MissingFileAndFolderAreReported) {
  const std::string missing = (folder_ / "missing.toml").string();
  EXPECT_EQ(configuration::load(missing, {}).errors(),
            messages{"gpumem: " + missing +
                     ": cannot read the configuration: No such file or directory"});
  EXPECT_EQ(configuration::load(folder_.string(), {}).errors(),
            messages{"gpumem: " + folder_.string() +
                     ": cannot read the configuration: it is a folder, not a file"});
  EXPECT_EQ(load_environment({{"GPUMEM_CONFIG", missing}}).errors(),
            messages{"gpumem: GPUMEM_CONFIG=" + missing +
                     ": cannot read the configuration: No such file or directory"});
}

// --- sizes: bytes, units, shares

TEST_F(Configuration, SizesAreBytesUnitsOrShares) {
  const auto config = load(
      "quarantine_size = 4096\nbypass_above = \"512MiB\"\n"
      "[device.pool]\ninitial_size = \"50%\"\nmaximum_size = \"1.5GiB\"\n");
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(bytes(config.process("quarantine_size")), 4096U);
  EXPECT_EQ(bytes(config.process("bypass_above")), 512ULL << 20);
  const auto stack = config.device_stack(0);
  EXPECT_EQ(
      std::get<gpumem::core::byte_size>(option_of(stack, "pool", "initial_size").value).percent,
      50.0);
  EXPECT_EQ(bytes(option_of(stack, "pool", "maximum_size")), 3ULL << 29);
}

// --- where values come from: environment over file over defaults

TEST_F(Configuration, EnvironmentOverFileOverDefaultsWithOrigins) {
  const auto config =
      load("report = \"text\"\n[device.pool]\ninitial_size = \"1GiB\"\nmaximum_size = \"4GiB\"\n",
           {{"GPUMEM_POOL_INITIAL_SIZE", "2GiB"}, {"GPUMEM_DEBUG_LEVEL", "info"}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  const auto stack = config.device_stack(0);
  const auto& initial = option_of(stack, "pool", "initial_size");
  EXPECT_EQ(bytes(initial), 2 * kGiB);
  EXPECT_EQ(initial.from.describe(), "environment GPUMEM_POOL_INITIAL_SIZE");
  const auto& maximum = option_of(stack, "pool", "maximum_size");
  EXPECT_EQ(bytes(maximum), 4 * kGiB);
  EXPECT_EQ(maximum.from.describe(), path_ + ":4:16");
  EXPECT_EQ(config.process_text("report"), "text");
  EXPECT_EQ(config.process("report").from.describe(), path_ + ":1:10");
  EXPECT_EQ(config.process_text("debug_level"), "info");
  EXPECT_EQ(config.process("debug_level").from.from, origin::source::environment);
  EXPECT_EQ(config.process_text("free_policy"), "quarantine");
  EXPECT_EQ(config.process("free_policy").from.describe(), "default");
  EXPECT_EQ(stack.layers_from.describe(), "default");
  EXPECT_EQ(names(stack), (std::vector<std::string>{"pool", "expandable"}));
  EXPECT_EQ(names(config.managed_stack()), (std::vector<std::string>{"statistics", "managed"}));
}

TEST_F(Configuration, GpumemConfigNamesTheFile) {
  const std::string path = write("named.toml", "report = \"json\"\n");
  const auto config = load_environment({{"GPUMEM_CONFIG", path}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(config.file(), path);
  EXPECT_EQ(config.process_text("report"), "json");
}

TEST_F(Configuration, StackVariablesOverrideTheFile) {
  const auto config =
      load("[device]\nstack = [\"pool\", \"cuda\"]\n[managed]\nstack = [\"managed\"]\n",
           {{"GPUMEM_STACK", "statistics, POOL ,cuda"},
            {"GPUMEM_MANAGED_STACK", "prefetch,managed"},
            {"GPUMEM_DEVICE1_STACK", "cuda_async"}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(names(config.device_stack(0)),
            (std::vector<std::string>{"statistics", "pool", "cuda"}));
  EXPECT_EQ(config.device_stack(0).layers_from.describe(), "environment GPUMEM_STACK");
  EXPECT_EQ(names(config.managed_stack()), (std::vector<std::string>{"prefetch", "managed"}));
  EXPECT_EQ(config.managed_stack().layers_from.describe(), "environment GPUMEM_MANAGED_STACK");
  EXPECT_EQ(names(config.device_stack(1)), (std::vector<std::string>{"cuda_async"}));
  EXPECT_EQ(config.device_stack(1).layers_from.describe(), "environment GPUMEM_DEVICE1_STACK");
  EXPECT_EQ(config.overridden_devices(), (std::vector<int>{1}));
}

TEST_F(Configuration, DeviceVariablesOverrideOneDevice) {
  const auto config = load_environment({{"GPUMEM_DEVICE1_POOL_INITIAL_SIZE", "2GiB"},
                                        {"GPUMEM_MANAGED_POOL_INITIAL_SIZE", "1GiB"},
                                        {"GPUMEM_MANAGED_STACK", "pool,managed"}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(bytes(option_of(config.device_stack(1), "pool", "initial_size")), 2 * kGiB);
  EXPECT_EQ(option_of(config.device_stack(1), "pool", "initial_size").from.describe(),
            "environment GPUMEM_DEVICE1_POOL_INITIAL_SIZE");
  EXPECT_EQ(bytes(option_of(config.device_stack(0), "pool", "initial_size")), 0U);
  EXPECT_EQ(option_of(config.device_stack(0), "pool", "initial_size").from.describe(), "default");
  EXPECT_EQ(bytes(option_of(config.managed_stack(), "pool", "initial_size")), kGiB);
}

TEST_F(Configuration, EmptyVariableMeansTheDefault) {
  const auto config =
      load("[device.pool]\ninitial_size = \"1GiB\"\n",
           {{"GPUMEM_POOL_INITIAL_SIZE", ""}, {"GPUMEM_REPORT", "  "}, {"GPUMEM_STACK", ""}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(bytes(option_of(config.device_stack(0), "pool", "initial_size")), kGiB);
  EXPECT_EQ(config.process_text("report"), "off");
  EXPECT_EQ(config.process("report").from.describe(), "default");
  EXPECT_EQ(names(config.device_stack(0)), (std::vector<std::string>{"pool", "expandable"}));
}

TEST_F(Configuration, OtherToolsVariablesAreNotReported) {
  const std::string path = write("plain.toml", "");
  const auto config = load_environment({{"GPUMEM_CONFIG", path},
                                        {"GPUMEM_LOG_FILE", "log.csv"},
                                        {"GPUMEM_SIM_DEVICES", "2"},
                                        {"GPUMEM_SIM_ANYTHING", "x"},
                                        {"GPUMEM_TEST_TARGET", "sim"},
                                        {"GPUMEM_BUILD_DIR", "build"},
                                        {"GPUMEM_CMAKE_ARGS", "-DX=1"},
                                        {"GPUMEM_GPU_DEPS", "libtomlplusplus-dev"},
                                        {"GPUMEM_PRELOAD_LIBRARY", "/lib/libgpumem_preload.so"}});
  EXPECT_TRUE(config.valid()) << config.errors().front();
}

// --- the environment's mistakes

TEST_F(Configuration, UnknownVariableSuggestsTheNearMiss) {
  EXPECT_EQ(load_environment({{"GPUMEM_POOL_INTIAL_SIZE", "1GiB"}}).errors(),
            messages{"gpumem: GPUMEM_POOL_INTIAL_SIZE='1GiB': unknown variable; did you mean "
                     "GPUMEM_POOL_INITIAL_SIZE?"});
  EXPECT_EQ(
      load_environment({{"GPUMEM_DEVICE1_POOL_INTIAL_SIZE", "1GiB"}}).errors(),
      messages{"gpumem: GPUMEM_DEVICE1_POOL_INTIAL_SIZE='1GiB': unknown variable; did you mean "
               "GPUMEM_DEVICE1_POOL_INITIAL_SIZE?"});
  EXPECT_EQ(
      load_environment({{"GPUMEM_REPROT", "text"}}).errors(),
      messages{"gpumem: GPUMEM_REPROT='text': unknown variable; did you mean GPUMEM_REPORT?"});
  EXPECT_EQ(load_environment({{"GPUMEM_WHATEVER", "1"}}).errors(),
            messages{"gpumem: GPUMEM_WHATEVER='1': unknown variable (see README.md, Configuration "
                     "keys, for every "
                     "variable)"});
}

TEST_F(Configuration, MisspeltDeviceVariableLeavesNoOverrideBehind) {
  const auto config = load_environment({{"GPUMEM_DEVICE3_POOL_INTIAL_SIZE", "1GiB"}});
  EXPECT_FALSE(config.valid());
  EXPECT_TRUE(config.overridden_devices().empty());
}

TEST_F(Configuration, MalformedVariablesSayWhy) {
  EXPECT_EQ(load_environment({{"GPUMEM_POOL_INITIAL_SIZE", "lots"}}).errors(),
            messages{"gpumem: GPUMEM_POOL_INITIAL_SIZE='lots': a size starts with a number, as in "
                     "512MiB or 4GiB"});
  EXPECT_EQ(
      load_environment({{"GPUMEM_REPORT", "txt"}}).errors(),
      messages{"gpumem: GPUMEM_REPORT='txt': not one of off, text, json; did you mean text?"});
  EXPECT_EQ(load_environment({{"GPUMEM_ARENA_DUMP_ON_FAILURE", "maybe"}}).errors(),
            messages{"gpumem: GPUMEM_ARENA_DUMP_ON_FAILURE='maybe': expected true or false"});
  EXPECT_EQ(load_environment({{"GPUMEM_BINNING_BIN_BLOCKS", "-1"}}).errors(),
            messages{"gpumem: GPUMEM_BINNING_BIN_BLOCKS='-1': expected a whole number, as in 16"});
  EXPECT_EQ(
      load_environment({{"GPUMEM_BINNING_BINS", "1MiB,,2MiB"}}).errors(),
      messages{
          "gpumem: GPUMEM_BINNING_BINS='1MiB,,2MiB': an empty item in the list (two commas?)"});
  EXPECT_EQ(load_environment({{"GPUMEM_QUARANTINE_SIZE", "18446744073709551616"}}).errors(),
            messages{"gpumem: GPUMEM_QUARANTINE_SIZE='18446744073709551616': size is larger than "
                     "2^64-1 bytes"});
  EXPECT_EQ(load_environment({{"GPUMEM_DEVICE1000_STACK", "cuda"}}).errors(),
            messages{"gpumem: GPUMEM_DEVICE1000_STACK='cuda': a device number is 0 to 999, as in "
                     "GPUMEM_DEVICE1_STACK"});
}

TEST_F(Configuration, ValuesThatAreNotTextAreEscaped) {
  const auto errors = load_environment({{"GPUMEM_QUARANTINE_SIZE", "1\x01\xffGiB"}}).errors();
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_TRUE(
      errors[0].starts_with("gpumem: GPUMEM_QUARANTINE_SIZE='1\\x01\\xffGiB': unknown unit"))
      << errors[0];
}

// Bytes outside ASCII where a number belongs (a UTF-8 "é", a lone 0xff): a message that shows
// them, as from any other wrong character. (Each byte of "é" is a negative char where char is
// signed, which <cctype>'s isdigit must not be given.)
TEST_F(Configuration, NonAsciiWhereANumberBelongs) {
  const std::string e_acute = "\xc3\xa9";
  const std::string units = " (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB, K, M, G, T)";
  EXPECT_EQ(load_environment({{"GPUMEM_QUARANTINE_SIZE", "512" + e_acute}}).errors(),
            messages{"gpumem: GPUMEM_QUARANTINE_SIZE='512" + e_acute + "': unknown unit '" +
                     e_acute + "'" + units});
  EXPECT_EQ(load_environment({{"GPUMEM_QUARANTINE_SIZE", e_acute + "1MiB"}}).errors(),
            messages{"gpumem: GPUMEM_QUARANTINE_SIZE='" + e_acute +
                     "1MiB': a size starts with a number, as in 512MiB or 4GiB"});
  EXPECT_EQ(load_environment({{"GPUMEM_QUARANTINE_SIZE", "\xff"}}).errors(),
            messages{"gpumem: GPUMEM_QUARANTINE_SIZE='\\xff': a size starts with a number, as in "
                     "512MiB or 4GiB"});
  EXPECT_EQ(load_environment({{"GPUMEM_QUARANTINE_BLOCKS", "1" + e_acute}}).errors(),
            messages{"gpumem: GPUMEM_QUARANTINE_BLOCKS='1" + e_acute +
                     "': expected a whole number, as in 16"});
  EXPECT_EQ(
      load_environment({{"GPUMEM_QUARANTINE_BLOCKS", "1\xff"}}).errors(),
      messages{"gpumem: GPUMEM_QUARANTINE_BLOCKS='1\\xff': expected a whole number, as in 16"});
  EXPECT_EQ(
      load("quarantine_size = \"4" + e_acute + "\"\nquarantine_blocks = \"" + e_acute + "\"\n")
          .errors(),
      (messages{"gpumem: " + path_ + ":1:19: quarantine_size = \"4" + e_acute +
                    "\": unknown unit '" + e_acute + "'" + units,
                "gpumem: " + path_ + ":2:21: quarantine_blocks = \"" + e_acute +
                    "\": expected a whole number, as in 16"}));
  EXPECT_EQ(load("[devices.\"1" + e_acute + "\"]\nstack = [\"cuda\"]\n").errors(),
            messages{"gpumem: " + path_ + ":1:10: [devices.1" + e_acute +
                     "]: a device is named by its number, as in [devices.1]"});
}

// --- stacks

TEST_F(Configuration, EmptyStack) {
  EXPECT_EQ(load("[device]\nstack = []\n").errors(),
            messages{"gpumem: " + path_ +
                     ":2:9: [device] stack is empty: name its layers down to a memory source, as "
                     "in [\"statistics\", \"pool\", \"cuda\"]"});
  EXPECT_EQ(load_environment({{"GPUMEM_MANAGED_STACK", ","}}).errors(),
            messages{"gpumem: GPUMEM_MANAGED_STACK: [managed] stack is empty: name its layers down "
                     "to a memory source, "
                     "as in statistics,managed"});
}

TEST_F(Configuration, UnknownLayerSuggestsTheNearMiss) {
  EXPECT_EQ(load_environment({{"GPUMEM_STACK", "statistics,pol,cuda"}}).errors(),
            messages{"gpumem: GPUMEM_STACK: [device] stack (statistics, pol, cuda): unknown layer "
                     "'pol'; did you mean "
                     "pool?"});
  EXPECT_EQ(load_environment({{"GPUMEM_STACK", "zebra,cuda"}}).errors(),
            messages{"gpumem: GPUMEM_STACK: [device] stack (zebra, cuda): unknown layer 'zebra' "
                     "(layers: cuda, "
                     "cuda_async, managed, expandable, pool, arena, binning, fixed_size, "
                     "statistics, logging, "
                     "tracking, limit, "
                     "aligned, prefetch)"});
  EXPECT_EQ(load_environment({{"GPUMEM_STACK", "pool,,cuda"}}).errors(),
            messages{"gpumem: GPUMEM_STACK: [device] stack (pool, , cuda): a layer without a name "
                     "(two commas?)"});
}

TEST_F(Configuration, SourceMustComeLast) {
  EXPECT_EQ(load_environment({{"GPUMEM_STACK", "cuda,pool"}}).errors(),
            messages{"gpumem: GPUMEM_STACK: [device] stack (cuda, pool): the memory source cuda "
                     "must come last (layers "
                     "above draw from it)"});
}

TEST_F(Configuration, StackWithoutSource) {
  EXPECT_EQ(load_environment({{"GPUMEM_STACK", "statistics,pool"}}).errors(),
            messages{"gpumem: GPUMEM_STACK: [device] stack (statistics, pool) has no memory "
                     "source: end it with cuda or "
                     "cuda_async, as in statistics,pool,cuda"});
  EXPECT_EQ(load("[managed]\nstack = [\"statistics\"]\n").errors(),
            messages{"gpumem: " + path_ +
                     ":2:9: [managed] stack (statistics) has no memory source: end it with "
                     "managed, as in [\"statistics\", \"managed\"]"});
}

TEST_F(Configuration, LayerTwice) {
  EXPECT_EQ(
      load_environment({{"GPUMEM_STACK", "pool,pool,cuda"}}).errors(),
      messages{"gpumem: GPUMEM_STACK: [device] stack (pool, pool, cuda): pool appears twice"});
}

TEST_F(Configuration, ManagedStackEndsWithManaged) {
  EXPECT_EQ(load_environment({{"GPUMEM_MANAGED_STACK", "pool,cuda"}}).errors(),
            messages{"gpumem: GPUMEM_MANAGED_STACK: [managed] stack (pool, cuda): managed "
                     "allocations come from managed "
                     "memory: end the stack with managed"});
}

TEST_F(Configuration, DeviceStackDoesNotEndWithManaged) {
  EXPECT_EQ(load_environment({{"GPUMEM_STACK", "statistics,managed"}}).errors(),
            messages{"gpumem: GPUMEM_STACK: [device] stack (statistics, managed): device "
                     "allocations come from cuda or "
                     "cuda_async, not managed"});
  EXPECT_EQ(load("[devices.2]\nstack = [\"pool\", \"managed\"]\n").errors(),
            messages{"gpumem: " + path_ +
                     ":2:9: [devices.2] stack (pool, managed): device allocations come from cuda "
                     "or cuda_async, not managed"});
}

TEST_F(Configuration, OverrideUsingTheDeviceStackDoesNotRepeatItsProblems) {
  EXPECT_EQ(
      load_environment({{"GPUMEM_STACK", "pool"}, {"GPUMEM_DEVICE1_POOL_INITIAL_SIZE", "1GiB"}})
          .errors(),
      messages{"gpumem: GPUMEM_STACK: [device] stack (pool) has no memory source: end it with cuda "
               "or cuda_async, "
               "as in pool,cuda"});
}

TEST_F(Configuration, OptionsForALayerNotInTheStack) {
  EXPECT_EQ(load("[device]\nstack = [\"cuda\"]\n[device.pool]\ninitial_size = \"1GiB\"\n").errors(),
            messages{"gpumem: " + path_ +
                     ":4:16: [device.pool] initial_size is set, but the [device] stack (cuda) has "
                     "no pool"});
  EXPECT_EQ(
      load_environment({{"GPUMEM_DEVICE1_STACK", "cuda"}, {"GPUMEM_DEVICE1_ARENA_SIZE", "1GiB"}})
          .errors(),
      messages{"gpumem: GPUMEM_DEVICE1_ARENA_SIZE: [devices.1.arena] size is set, but the "
               "[devices.1] stack (cuda) "
               "has no arena"});
}

TEST_F(Configuration, OptionThatFailedToReadIsNotAlsoReportedAsSet) {
  // The bad value is one problem; it must not also count as a value of a layer the stack lacks.
  EXPECT_EQ(load_environment({{"GPUMEM_BINNING_BINS", "x"}}).errors(),
            messages{"gpumem: GPUMEM_BINNING_BINS='x': 'x': a size starts with a number, as in "
                     "512MiB or 4GiB"});
}

// --- layer options

TEST_F(Configuration, LimitNeedsASize) {
  EXPECT_EQ(load("[device]\nstack = [\"limit\", \"cuda\"]\n").errors(),
            messages{"gpumem: " + path_ +
                     ":2:9: [device] stack has the limit layer but no size: set [device.limit] "
                     "size = \"40GiB\" or GPUMEM_LIMIT_SIZE=40GiB"});
  EXPECT_EQ(
      load_environment({{"GPUMEM_DEVICE2_STACK", "limit,cuda"}}).errors(),
      messages{
          "gpumem: GPUMEM_DEVICE2_STACK: [devices.2] stack has the limit layer but no size: set "
          "[devices.2.limit] size = \"40GiB\" or GPUMEM_DEVICE2_LIMIT_SIZE=40GiB"});
  EXPECT_TRUE(
      load_environment({{"GPUMEM_STACK", "limit,cuda"}, {"GPUMEM_LIMIT_SIZE", "50%"}}).valid());
}

TEST_F(Configuration, AlignmentIsAPowerOfTwo) {
  EXPECT_EQ(load("[device]\nstack = [\"aligned\", \"cuda\"]\n[device.aligned]\nalignment = 300\n")
                .errors(),
            messages{"gpumem: " + path_ +
                     ":4:13: [device.aligned] alignment must be a power of two, found 300"});
  EXPECT_EQ(
      load_environment({{"GPUMEM_STACK", "aligned,cuda"}, {"GPUMEM_ALIGNED_ALIGNMENT", "0"}})
          .errors(),
      messages{"gpumem: GPUMEM_ALIGNED_ALIGNMENT: [device.aligned] alignment must be more than 0"});
  EXPECT_TRUE(
      load_environment({{"GPUMEM_STACK", "aligned,cuda"}, {"GPUMEM_ALIGNED_ALIGNMENT", "4KiB"}})
          .valid());
}

TEST_F(Configuration, CountsAndSizesOfZero) {
  const auto config = load(
      "[device]\nstack = [\"binning\", \"fixed_size\", \"limit\", \"cuda\"]\n"
      "[device.binning]\nbin_blocks = 0\nbins = []\n"
      "[device.fixed_size]\nblocks = 0\nblock_size = 0\n"
      "[device.limit]\nsize = 0\n");
  EXPECT_EQ(
      config.errors(),
      (messages{"gpumem: " + path_ +
                    ":5:8: [device.binning] bins needs at least one size, none of them 0",
                "gpumem: " + path_ + ":4:14: [device.binning] bin_blocks must be at least 1",
                "gpumem: " + path_ + ":8:14: [device.fixed_size] block_size must be more than 0",
                "gpumem: " + path_ + ":7:10: [device.fixed_size] blocks must be at least 1",
                "gpumem: " + path_ + ":10:8: [device.limit] size must be more than 0"}));
}

TEST_F(Configuration, InitialAboveMaximumInBytesAndInShares) {
  EXPECT_EQ(load("[device.pool]\ninitial_size = \"2GiB\"\nmaximum_size = \"1GiB\"\n").errors(),
            messages{"gpumem: " + path_ +
                     ":2:16: [device.pool] initial_size 2.0 GiB is above maximum_size 1.0 GiB (" +
                     path_ + ":3:16)"});
  EXPECT_EQ(
      load_environment({{"GPUMEM_POOL_INITIAL_SIZE", "60%"}, {"GPUMEM_POOL_MAXIMUM_SIZE", "50.5%"}})
          .errors(),
      messages{"gpumem: GPUMEM_POOL_INITIAL_SIZE: [device.pool] initial_size 60% is above "
               "maximum_size 50.5% "
               "(GPUMEM_POOL_MAXIMUM_SIZE)"});
  EXPECT_TRUE(
      load_environment({{"GPUMEM_POOL_INITIAL_SIZE", "1GiB"}, {"GPUMEM_POOL_MAXIMUM_SIZE", "1GiB"}})
          .valid());
}

TEST_F(Configuration, InitialAboveMaximumOfAnOverrideIsReportedOnceWithItsOwnScope) {
  // Device 1 mixes its own initial size with [device]'s maximum.
  EXPECT_EQ(load_environment({{"GPUMEM_POOL_MAXIMUM_SIZE", "1GiB"},
                              {"GPUMEM_DEVICE1_POOL_INITIAL_SIZE", "2GiB"}})
                .errors(),
            messages{"gpumem: GPUMEM_DEVICE1_POOL_INITIAL_SIZE: [devices.1.pool] initial_size 2.0 "
                     "GiB is above "
                     "maximum_size 1.0 GiB (GPUMEM_POOL_MAXIMUM_SIZE)"});
  // Device 1 only inherits [device]'s values: one message, for [device].
  EXPECT_EQ(load_environment({{"GPUMEM_POOL_INITIAL_SIZE", "2GiB"},
                              {"GPUMEM_POOL_MAXIMUM_SIZE", "1GiB"},
                              {"GPUMEM_DEVICE1_STACK", "statistics,pool,cuda"}})
                .errors(),
            messages{"gpumem: GPUMEM_POOL_INITIAL_SIZE: [device.pool] initial_size 2.0 GiB is "
                     "above maximum_size 1.0 "
                     "GiB (GPUMEM_POOL_MAXIMUM_SIZE)"});
}

// --- what needs the device's memory size

TEST_F(Configuration, CheckForDeviceResolvesMixedBytesAndShares) {
  const auto config = load("[device.pool]\ninitial_size = \"9GiB\"\nmaximum_size = \"50%\"\n");
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(
      config.check_for_device(0, 16 * kGiB),
      messages{"gpumem: " + path_ +
               ":2:16: device 0 pool initial_size 9.0 GiB exceeds maximum_size 50% = 8.0 GiB (" +
               path_ + ":3:16)"});
  EXPECT_TRUE(config.check_for_device(0, 20 * kGiB).empty());
}

TEST_F(Configuration, CheckForDeviceFindsSizesAboveTheDevice) {
  const auto config = load_environment({{"GPUMEM_STACK", "limit,cuda_async"},
                                        {"GPUMEM_LIMIT_SIZE", "8GiB"},
                                        {"GPUMEM_CUDA_ASYNC_INITIAL_SIZE", "20GiB"}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(config.check_for_device(1, 16 * kGiB),
            messages{"gpumem: GPUMEM_CUDA_ASYNC_INITIAL_SIZE: device 1 cuda_async initial_size "
                     "20.0 GiB exceeds the "
                     "device's 16.0 GiB"});
  EXPECT_TRUE(config.check_for_device(1, 32 * kGiB).empty());
  EXPECT_TRUE(load_environment({}).check_for_device(0, kGiB).empty());
}

// --- per-device overrides

TEST_F(Configuration, OverrideValuesOverDeviceValuesOverDefaults) {
  const auto config = load(
      "[device]\nstack = [\"statistics\", \"pool\", \"cuda\"]\n"
      "[device.pool]\ninitial_size = \"1GiB\"\nmaximum_size = \"4GiB\"\n"
      "[devices.1.pool]\nmaximum_size = \"8GiB\"\n"
      "[devices.2]\nstack = [\"pool\", \"cuda_async\"]\n",
      {{"GPUMEM_DEVICE1_POOL_INITIAL_SIZE", "2GiB"}});
  ASSERT_TRUE(config.valid()) << config.errors().front();
  EXPECT_EQ(config.overridden_devices(), (std::vector<int>{1, 2}));

  const auto device0 = config.device_stack(0);
  EXPECT_EQ(bytes(option_of(device0, "pool", "initial_size")), kGiB);
  EXPECT_EQ(bytes(option_of(device0, "pool", "maximum_size")), 4 * kGiB);

  const auto device1 = config.device_stack(1);
  EXPECT_EQ(names(device1), (std::vector<std::string>{"statistics", "pool", "cuda"}));
  EXPECT_EQ(device1.layers_from.describe(), path_ + ":2:9");
  EXPECT_EQ(bytes(option_of(device1, "pool", "initial_size")), 2 * kGiB);
  EXPECT_EQ(option_of(device1, "pool", "initial_size").from.describe(),
            "environment GPUMEM_DEVICE1_POOL_INITIAL_SIZE");
  EXPECT_EQ(bytes(option_of(device1, "pool", "maximum_size")), 8 * kGiB);
  EXPECT_EQ(option_of(device1, "pool", "maximum_size").from.describe(), path_ + ":7:16");

  // Its own stack, [device]'s pool values, a default for what no one set.
  const auto device2 = config.device_stack(2);
  EXPECT_EQ(names(device2), (std::vector<std::string>{"pool", "cuda_async"}));
  EXPECT_EQ(bytes(option_of(device2, "pool", "maximum_size")), 4 * kGiB);
  EXPECT_EQ(option_of(device2, "pool", "maximum_size").from.describe(), path_ + ":5:16");
  const auto& threshold = option_of(device2, "cuda_async", "release_threshold");
  EXPECT_EQ(std::get<gpumem::core::byte_size>(threshold.value).percent, 100.0);
  EXPECT_EQ(threshold.from.describe(), "default");

  // A device without an override has [device]'s stack.
  EXPECT_EQ(names(config.device_stack(3)), names(device0));
}

TEST_F(Configuration, DeviceTablesNameADevice) {
  EXPECT_EQ(load("[devices.x]\nstack = [\"cuda\"]\n").errors(),
            messages{"gpumem: " + path_ +
                     ":1:10: [devices.x]: a device is named by its number, as in [devices.1]"});
}

// --- the messages themselves

TEST_F(Configuration, EveryMessageIsOneLineStartingWithGpumem) {
  const auto config =
      load("report = \"" + std::string(500, 'x') + "\"\n[device]\nstack = [\"pool\", \"cuda\"]\n",
           {{"GPUMEM_DEBUG_FILE", "a\nb"}, {"GPUMEM_REPORT_FILE", "r.txt"}, {"GPUMEM_X\nY", "1"}});
  ASSERT_EQ(config.errors().size(), 2U);
  for (const std::string& message : config.errors()) {
    EXPECT_TRUE(message.starts_with("gpumem: ")) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_LT(message.size() - path_.size(), 160U) << message;
  }
}

}  // namespace
