#include "preload/shim_report.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <utility>

#include "core/byte_size.hpp"
#include "gpumem/mr/arena_memory_resource.hpp"
#include "gpumem/mr/expandable_memory_resource.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"
#include "gpumem/mr/tracking_resource_adaptor.hpp"
#include "preload/shim_log.hpp"

namespace gpumem::preload {

void shim_counters::record_allocation(std::size_t bytes) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  bytes_total.fetch_add(bytes, std::memory_order_relaxed);
  const std::int64_t now =
      bytes_current.fetch_add(static_cast<std::int64_t>(bytes), std::memory_order_relaxed) +
      static_cast<std::int64_t>(bytes);
  std::int64_t peak = bytes_peak.load(std::memory_order_relaxed);
  while (now > peak && !bytes_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void shim_counters::record_free(std::size_t bytes) noexcept {
  frees.fetch_add(1, std::memory_order_relaxed);
  bytes_current.fetch_sub(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
}

void shim_counters::carry_over(const shim_counters& retired) noexcept {
  for (auto [into, from] : {std::pair{&allocations, &retired.allocations},
                            std::pair{&frees, &retired.frees},
                            std::pair{&failures, &retired.failures},
                            std::pair{&pass_throughs, &retired.pass_throughs},
                            std::pair{&barriers, &retired.barriers},
                            std::pair{&bytes_total, &retired.bytes_total}}) {
    into->fetch_add(from->load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  bytes_peak.store(std::max(bytes_peak.load(), retired.bytes_peak.load()),
                   std::memory_order_relaxed);
}

held_memory memory_held(const config::built_stack& stack) {
  held_memory held;
  if (auto* pool = dynamic_cast<const mr::detail::pool_resource_core*>(stack.find("pool"));
      pool != nullptr) {
    const mr::pool_state state = pool->state();
    held.reserved = state.pool_size;
    held.free_in_stack = state.pool_size - state.allocated_bytes;
    held.largest_free = state.largest_free_block;
  } else if (auto* arena =
                 dynamic_cast<const mr::detail::arena_resource_core*>(stack.find("arena"));
             arena != nullptr) {
    const mr::arena_state state = arena->state();
    held.reserved = state.arena_size;
    held.free_in_stack =
        state.arena_size > state.allocated_bytes ? state.arena_size - state.allocated_bytes : 0;
    held.largest_free = state.largest_free_block;
  }
  if (auto* limit = dynamic_cast<const mr::detail::limiting_adaptor_core*>(stack.find("limit"));
      limit != nullptr) {
    held.limit = limit->get_allocation_limit();
    held.limited_in_use = limit->get_allocated_bytes();
  }
  return held;
}

std::vector<leak_site> leaks_by_site(const config::built_stack& stack) {
  const auto* tracking =
      dynamic_cast<const mr::detail::tracking_adaptor_core*>(stack.find("tracking"));
  if (tracking == nullptr) return {};
  std::map<std::string, leak_site> sites;
  for (const auto& [pointer, info] : tracking->get_outstanding_allocations()) {
    std::string trace = info.strace ? info.strace->to_string() : std::string{};
    leak_site& site = sites[trace];
    site.trace = std::move(trace);
    ++site.blocks;
    site.bytes += info.allocation_size;
  }
  std::vector<leak_site> sorted;
  for (auto& [trace, site] : sites)
    sorted.push_back(std::move(site));
  std::stable_sort(sorted.begin(), sorted.end(), [](const leak_site& a, const leak_site& b) {
    return a.bytes > b.bytes;
  });
  return sorted;
}

std::string device_report_line(const config::built_stack& stack, const shim_counters& counters) {
  const held_memory held = memory_held(stack);
  return "reserved " + core::format_bytes(held.reserved) + ", in use " +
         core::format_bytes(
             static_cast<std::uint64_t>(std::max<std::int64_t>(counters.bytes_current.load(), 0))) +
         ", largest free block " + core::format_bytes(held.largest_free);
}

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names)
    text += (text.empty() ? "" : " > ") + name;
  return text;
}

/// The expandable source of a stack, if it has one (and it did not fall back to slabs).
const mr::expandable_memory_resource* expandable_source(const config::built_stack& stack) {
  return dynamic_cast<const mr::expandable_memory_resource*>(stack.find("expandable"));
}

double milliseconds(std::chrono::nanoseconds time) {
  return std::chrono::duration<double, std::milli>(time).count();
}

void text_report(std::FILE* out,
                 const std::vector<device_report>& devices,
                 const shim_counters& passed) {
  std::fprintf(out, "gpumem report (pid %d)\n", static_cast<int>(::getpid()));
  for (const device_report& device : devices) {
    const shim_counters& c = *device.counters;
    const held_memory held = memory_held(*device.device_stack);
    std::fprintf(out,
                 "gpumem: device %d (%s): stack %s\n",
                 device.device,
                 core::format_bytes(device.total_bytes).c_str(),
                 joined(device.device_stack->names()).c_str());
    std::fprintf(out,
                 "gpumem:   allocations served %llu, frees %llu, failed %llu, passed to CUDA %llu, "
                 "device barriers %llu\n",
                 static_cast<unsigned long long>(c.allocations.load()),
                 static_cast<unsigned long long>(c.frees.load()),
                 static_cast<unsigned long long>(c.failures.load()),
                 static_cast<unsigned long long>(c.pass_throughs.load()),
                 static_cast<unsigned long long>(c.barriers.load()));
    std::fprintf(out,
                 "gpumem:   bytes current %s, peak %s, total %s\n",
                 core::format_bytes(
                     static_cast<std::uint64_t>(std::max<std::int64_t>(c.bytes_current.load(), 0)))
                     .c_str(),
                 core::format_bytes(static_cast<std::uint64_t>(c.bytes_peak.load())).c_str(),
                 core::format_bytes(c.bytes_total.load()).c_str());
    if (device.quarantined_blocks != 0) {
      std::fprintf(
          out,
          "gpumem:   quarantine: %zu freed blocks, %s, wait for a device barrier (the layers "
          "below count them as in use until then)\n",
          device.quarantined_blocks,
          core::format_bytes(device.quarantined_bytes).c_str());
    }
    if (held.reserved != 0) {
      std::fprintf(out,
                   "gpumem:   reserved %s, free in the stack %s, largest free block %s, "
                   "fragmentation %.0f%%\n",
                   core::format_bytes(held.reserved).c_str(),
                   core::format_bytes(held.free_in_stack).c_str(),
                   core::format_bytes(held.largest_free).c_str(),
                   100.0 * held.fragmentation());
    }
    if (const auto* expandable = expandable_source(*device.device_stack)) {
      const auto mapping = expandable->statistics();
      std::fprintf(out,
                   "gpumem:   expandable source: mapped %s (peak %s) of %s virtual; %zu pieces "
                   "mapped in %.1f ms, %zu unmapped in %.1f ms\n",
                   core::format_bytes(mapping.mapped_bytes).c_str(),
                   core::format_bytes(mapping.peak_mapped_bytes).c_str(),
                   core::format_bytes(mapping.reserved_bytes).c_str(),
                   mapping.map_calls,
                   milliseconds(mapping.map_time),
                   mapping.unmap_calls,
                   milliseconds(mapping.unmap_time));
    }
    if (auto* stats = dynamic_cast<const mr::detail::statistics_adaptor_core*>(
            device.device_stack->find("statistics"))) {
      const auto bytes = stats->get_bytes_counter();
      const auto count = stats->get_allocations_counter();
      std::fprintf(out,
                   "gpumem:   statistics layer: bytes %lld / peak %lld / total %lld, allocations "
                   "%lld / peak %lld / "
                   "total %lld\n",
                   static_cast<long long>(bytes.value),
                   static_cast<long long>(bytes.peak),
                   static_cast<long long>(bytes.total),
                   static_cast<long long>(count.value),
                   static_cast<long long>(count.peak),
                   static_cast<long long>(count.total));
    }
    if (device.managed_stack != nullptr) {
      std::fprintf(
          out, "gpumem:   managed stack %s\n", joined(device.managed_stack->names()).c_str());
    }
    const std::vector<leak_site> leaks = leaks_by_site(*device.device_stack);
    if (!leaks.empty()) {
      std::size_t blocks = 0;
      std::size_t bytes = 0;
      for (const leak_site& site : leaks) {
        blocks += site.blocks;
        bytes += site.bytes;
      }
      std::fprintf(out,
                   "gpumem:   still allocated at exit (tracking layer): %zu blocks, %s, from %zu "
                   "places\n",
                   blocks,
                   core::format_bytes(bytes).c_str(),
                   leaks.size());
      constexpr std::size_t kSitesShown = 10;
      for (std::size_t i = 0; i < std::min(kSitesShown, leaks.size()); ++i) {
        std::fprintf(out,
                     "gpumem:     %zu blocks, %s%s\n",
                     leaks[i].blocks,
                     core::format_bytes(leaks[i].bytes).c_str(),
                     leaks[i].trace.empty() ? " (set [device.tracking] stack_traces = true to "
                                              "see where)"
                                            : ", allocated at:");
        std::istringstream frames{leaks[i].trace};
        for (std::string frame; std::getline(frames, frame);) {
          // The shim's own frames say nothing about where the program allocated.
          if (!frame.empty() && frame.find("libgpumem_preload.so") == std::string::npos)
            std::fprintf(out, "gpumem:       %s\n", frame.c_str());
        }
      }
    }
  }
  std::fprintf(
      out,
      "gpumem: calls passed to CUDA before a device's stack (bypass size, capture): %llu\n",
      static_cast<unsigned long long>(passed.pass_throughs.load()));
}

void json_report(std::FILE* out,
                 const std::vector<device_report>& devices,
                 const shim_counters& passed) {
  std::fprintf(out,
               "{\"pid\": %d, \"passed_through\": %llu, \"devices\": [",
               static_cast<int>(::getpid()),
               static_cast<unsigned long long>(passed.pass_throughs.load()));
  bool first = true;
  for (const device_report& device : devices) {
    const shim_counters& c = *device.counters;
    const held_memory held = memory_held(*device.device_stack);
    std::string layers;
    for (const auto& name : device.device_stack->names())
      layers += (layers.empty() ? "\"" : ", \"") + name + "\"";
    std::fprintf(
        out,
        "%s\n  {\"device\": %d, \"total_bytes\": %llu, \"stack\": [%s], \"allocations\": %llu, "
        "\"frees\": %llu, "
        "\"failures\": %llu, \"passed_through\": %llu, \"barriers\": %llu, \"bytes_current\": "
        "%lld, "
        "\"bytes_peak\": %lld, \"bytes_total\": %llu, \"reserved\": %zu, \"free_in_stack\": %zu, "
        "\"largest_free_block\": %zu, \"fragmentation\": %.4f, \"quarantined_blocks\": %zu, "
        "\"quarantined_bytes\": %zu",
        first ? "" : ",",
        device.device,
        static_cast<unsigned long long>(device.total_bytes),
        layers.c_str(),
        static_cast<unsigned long long>(c.allocations.load()),
        static_cast<unsigned long long>(c.frees.load()),
        static_cast<unsigned long long>(c.failures.load()),
        static_cast<unsigned long long>(c.pass_throughs.load()),
        static_cast<unsigned long long>(c.barriers.load()),
        static_cast<long long>(c.bytes_current.load()),
        static_cast<long long>(c.bytes_peak.load()),
        static_cast<unsigned long long>(c.bytes_total.load()),
        held.reserved,
        held.free_in_stack,
        held.largest_free,
        held.fragmentation(),
        device.quarantined_blocks,
        device.quarantined_bytes);
    if (const auto* expandable = expandable_source(*device.device_stack)) {
      const auto mapping = expandable->statistics();
      std::fprintf(out,
                   ", \"expandable\": {\"reserved_virtual\": %zu, \"mapped\": %zu, "
                   "\"peak_mapped\": %zu, \"chunk_size\": %zu, \"map_calls\": %zu, "
                   "\"map_ms\": %.3f, \"unmap_calls\": %zu, \"unmap_ms\": %.3f}",
                   mapping.reserved_bytes,
                   mapping.mapped_bytes,
                   mapping.peak_mapped_bytes,
                   expandable->chunk_size(),
                   mapping.map_calls,
                   milliseconds(mapping.map_time),
                   mapping.unmap_calls,
                   milliseconds(mapping.unmap_time));
    }
    std::fprintf(out, "}");
    first = false;
  }
  std::fprintf(out, "\n]}\n");
}

}  // namespace

void write_report(const std::string& kind,
                  const std::string& file,
                  const std::vector<device_report>& devices,
                  const shim_counters& process_pass_throughs,
                  shim_log& log) {
  const bool json = kind == "json";
  std::string path = file;
  if (path.empty()) path = json ? "gpumem-report-{pid}.json" : "stderr";
  path = config::with_pid(path);
  std::FILE* out = stderr;
  if (path == "stdout") {
    out = stdout;
  } else if (path != "stderr") {
    out = std::fopen(path.c_str(), "w");
    if (out == nullptr) {
      log.error("cannot write the report to " + path);
      return;
    }
  }
  if (json) {
    json_report(out, devices, process_pass_throughs);
  } else {
    text_report(out, devices, process_pass_throughs);
  }
  if (out != stderr && out != stdout) {
    std::fclose(out);
    // A report in a file is found only if the user is told where.
    std::fprintf(stderr, "gpumem: report written to %s\n", path.c_str());
  } else {
    std::fflush(out);
  }
}

}  // namespace gpumem::preload
