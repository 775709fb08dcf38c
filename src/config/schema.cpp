#include "config/schema.hpp"

#include <algorithm>
#include <array>

#include "config/value_text.hpp"

namespace gpumem::config {
namespace {

constexpr std::array<std::string_view, 2> kOnErrorChoices{"exit", "warn"};
constexpr std::array<std::string_view, 3> kReportChoices{"off", "text", "json"};
constexpr std::array<std::string_view, 3> kReportSignalChoices{"off", "sigusr1", "sigusr2"};
constexpr std::array<std::string_view, 6> kLevelChoices{
    "trace", "debug", "info", "warn", "error", "off"};
constexpr std::array<std::string_view, 3> kFreePolicyChoices{
    "synchronize", "quarantine", "stream_ordered"};
constexpr std::array<std::string_view, 2> kFlushChoices{"buffered", "every_event"};
constexpr std::array<std::string_view, 3> kBarrierThreadChoices{"auto", "on", "off"};

constexpr std::array kProcessOptions{
    option_spec{
        "on_error",
        option_type::choice,
        "exit",
        "an invalid configuration stops the program (exit) or warns and runs on plain CUDA (warn)",
        kOnErrorChoices},
    option_spec{"report",
                option_type::choice,
                "off",
                "the report at exit: off, a text table, or JSON",
                kReportChoices},
    option_spec{"report_file",
                option_type::text,
                "",
                "where the report goes; default stderr for text, gpumem-report-{pid}.json for JSON",
                {},
                folder_exists},
    option_spec{"report_interval",
                option_type::count,
                "0",
                "seconds between rewrites of the report while the program runs, so a killed job "
                "leaves one at most this old (0: only at exit); needs a report"},
    option_spec{
        "report_signal",
        option_type::choice,
        "off",
        "a signal that makes the shim write the report while the program runs (SIGUSR1 or SIGUSR2, "
        "in any case)",
        kReportSignalChoices},
    option_spec{"debug_level", option_type::choice, "warn", "the debug log's level", kLevelChoices},
    option_spec{"debug_file",
                option_type::text,
                "stderr",
                "where the debug log goes ({pid} is the process id)",
                {},
                folder_exists},
    option_spec{"free_policy",
                option_type::choice,
                "quarantine",
                "how cudaFree keeps its synchronization: a device barrier per free (synchronize), "
                "freed blocks "
                "held until one barrier releases many (quarantine), or none (stream_ordered: only "
                "for programs "
                "that do not rely on cudaFree synchronizing)",
                kFreePolicyChoices},
    option_spec{"quarantine_size",
                option_type::size,
                "",
                "bytes held in quarantine that make the shim wait for the device and release "
                "them; default: 32 MiB, or room for 16 of the largest block held when that is "
                "more, at most 1/16 of the device's memory",
                {},
                no_check,
                "automatic"},
    option_spec{
        "quarantine_blocks",
        option_type::count,
        "1024",
        "freed blocks held in quarantine that make the shim wait for the device and release them "
        "(whichever of the two limits comes first)"},
    option_spec{"barrier_thread",
                option_type::choice,
                "auto",
                "where the quarantine's device barriers run: on a thread of the shim's, so the "
                "freeing thread goes on queueing work (on), on the freeing thread (off), or on the "
                "shim's thread while barriers wait for the device, three in a row 20 us or more "
                "each (auto)",
                kBarrierThreadChoices},
    option_spec{"bypass_above",
                option_type::size,
                "",
                "allocations above this size go straight to CUDA (none by default)"},
};

constexpr std::array<option_spec, 0> kNoOptions{};

constexpr std::array kCudaAsyncOptions{
    option_spec{"initial_size",
                option_type::size_or_share,
                "0",
                "memory the driver's pool reserves at once"},
    option_spec{"release_threshold",
                option_type::size_or_share,
                "100%",
                "memory the driver's pool keeps when idle, instead of giving it back to the device",
                {},
                may_exceed_device},
};

constexpr std::array kExpandableOptions{
    option_spec{"chunk_size",
                option_type::size,
                "2MiB",
                "physical memory is created and mapped in chunks of this size (rounded up to the "
                "device's granularity); the pool above grows and shrinks by chunks"},
    option_spec{"reservation",
                option_type::size_or_share,
                "",
                "virtual address space reserved once (costs no memory); default: twice the "
                "device's memory",
                {},
                no_check,
                "automatic"},
};

constexpr std::array kPoolOptions{
    option_spec{"initial_size",
                option_type::size_or_share,
                "0",
                "memory taken at once; the pool then grows",
                {},
                not_above_maximum},
    option_spec{"maximum_size",
                option_type::size_or_share,
                "",
                "the most the pool takes (default: no limit)",
                {},
                is_maximum},
    option_spec{"release_threshold",
                option_type::size_or_share,
                "",
                "a free that leaves more than this free in the pool gives memory back (a device "
                "barrier; over the expandable source, the free end is unmapped); default: only "
                "on out of memory",
                {},
                may_exceed_device},
};

constexpr std::array kArenaOptions{
    option_spec{"size",
                option_type::size_or_share,
                "50%",
                "the global arena, taken at the first allocation",
                {},
                at_least_a_superblock},
    option_spec{"dump_on_failure",
                option_type::boolean,
                "false",
                "on out of memory, write the arena's state to gpumem_arena_dump_<pid>.log"},
};

constexpr std::array kBinningOptions{
    option_spec{
        "bins",
        option_type::size_list,
        "[\"256KiB\", \"512KiB\", \"1MiB\", \"2MiB\", \"4MiB\"]",
        "bin sizes: a request up to a bin's size takes a block of that size; larger ones go below"},
    option_spec{
        "bin_blocks", option_type::count, "16", "blocks each bin takes from below at a time"},
};

constexpr std::array kFixedSizeOptions{
    option_spec{"block_size",
                option_type::size,
                "1MiB",
                "the one block size (larger requests fail)",
                {},
                more_than_zero},
    option_spec{"blocks", option_type::count, "128", "blocks taken from below at a time"},
};

constexpr std::array kLoggingOptions{
    option_spec{"file",
                option_type::text,
                "gpumem-{pid}.csv",
                "the CSV log, in RMM's format ({pid}: process id)",
                {},
                folder_exists},
    option_spec{"flush",
                option_type::choice,
                "buffered",
                "write in blocks (buffered) or after every event",
                kFlushChoices},
};

constexpr std::array kTrackingOptions{
    option_spec{
        "stack_traces", option_type::boolean, "false", "record where each allocation was made"},
};

constexpr std::array kLimitOptions{
    option_spec{"size",
                option_type::size_or_share,
                "",
                "the most the layers above may hold at once (required)",
                {},
                more_than_zero | required},
};

constexpr std::array kAlignedOptions{
    option_spec{"alignment",
                option_type::size,
                "256",
                "the alignment of large allocations (a power of two)",
                {},
                more_than_zero | power_of_two},
    option_spec{
        "threshold", option_type::size, "64KiB", "allocations of at least this size are aligned"},
};

constexpr std::array kLayers{
    layer_spec{"cuda", layer_role::source, "device memory from cudaMalloc", kNoOptions},
    layer_spec{"cuda_async",
               layer_role::source,
               "the driver's stream-ordered pool (cudaMallocAsync), its own pool",
               kCudaAsyncOptions},
    layer_spec{"managed", layer_role::source, "managed memory (cudaMallocManaged)", kNoOptions},
    layer_spec{"expandable",
               layer_role::source,
               "device memory on CUDA's virtual memory API: one address range whose mapped part "
               "grows and shrinks (cuda where the driver or device lacks the API)",
               kExpandableOptions},
    layer_spec{"pool", layer_role::sub_allocator, "coalescing best-fit pool", kPoolOptions},
    layer_spec{"arena",
               layer_role::sub_allocator,
               "per-thread arenas over a global arena (scales with threads)",
               kArenaOptions},
    layer_spec{"binning",
               layer_role::sub_allocator,
               "fixed-size bins for small requests",
               kBinningOptions},
    layer_spec{"fixed_size", layer_role::sub_allocator, "blocks of one size", kFixedSizeOptions},
    layer_spec{"statistics",
               layer_role::adaptor,
               "counts bytes and allocations (current, peak, total)",
               kNoOptions},
    layer_spec{"logging",
               layer_role::adaptor,
               "writes every allocation and free to a CSV file",
               kLoggingOptions},
    layer_spec{"tracking",
               layer_role::adaptor,
               "remembers outstanding allocations, reports leaks",
               kTrackingOptions},
    layer_spec{"limit", layer_role::adaptor, "refuses allocations beyond a total", kLimitOptions},
    layer_spec{"aligned", layer_role::adaptor, "aligns large allocations further", kAlignedOptions},
    layer_spec{"prefetch",
               layer_role::adaptor,
               "prefetches new managed allocations to the device",
               kNoOptions},
};

}  // namespace

std::span<const option_spec> process_options() {
  return kProcessOptions;
}

std::span<const layer_spec> layers() {
  return kLayers;
}

const layer_spec* find_layer(std::string_view name) {
  const auto* found = std::find_if(
      kLayers.begin(), kLayers.end(), [name](const layer_spec& l) { return l.name == name; });
  return found == kLayers.end() ? nullptr : found;
}

const option_spec* find_option(std::span<const option_spec> options, std::string_view key) {
  const auto found = std::find_if(
      options.begin(), options.end(), [key](const option_spec& o) { return o.key == key; });
  return found == options.end() ? nullptr : &*found;
}

std::string_view describe(option_type type) {
  switch (type) {
    case option_type::size:
      return "a size such as 4096, \"512MiB\" or \"1.5GB\"";
    case option_type::size_or_share:
      return "a size such as \"4GiB\" or a share of device memory such as \"50%\"";
    case option_type::size_list:
      return "a list of sizes such as [\"256KiB\", \"1MiB\"]";
    case option_type::boolean:
      return "true or false";
    case option_type::count:
      return "a whole number";
    case option_type::choice:
      return "one of the words listed";
    case option_type::text:
      return "a string";
  }
  return "a value";
}

std::string process_variable(std::string_view key) {
  return "GPUMEM_" + upper(key);
}

std::string variable_prefix(std::string_view table) {
  if (table == "[managed]") return "GPUMEM_MANAGED_";
  constexpr std::string_view kDevices = "[devices.";
  if (table.starts_with(kDevices) && table.ends_with("]")) {
    return "GPUMEM_DEVICE" +
           std::string{table.substr(kDevices.size(), table.size() - kDevices.size() - 1)} + "_";
  }
  return "GPUMEM_";
}

std::string stack_variable(std::string_view table) {
  return variable_prefix(table) + "STACK";
}

std::string layer_variable(std::string_view table, std::string_view layer, std::string_view key) {
  return variable_prefix(table) + upper(layer) + "_" + upper(key);
}

}  // namespace gpumem::config
