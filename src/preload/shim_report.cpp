#include "preload/shim_report.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <utility>

#include "core/byte_size.hpp"
#include "gpumem/mr/arena_memory_resource.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "gpumem/mr/tracking_resource_adaptor.hpp"
#include "preload/layer_report.hpp"
#include "preload/shim_log.hpp"

namespace gpumem::preload {

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

std::string device_report_line(const config::built_stack& stack, const counter_totals& counters) {
  const held_memory held = memory_held(stack);
  return "reserved " + core::format_bytes(held.reserved) + ", in use " +
         core::format_bytes(
             static_cast<std::uint64_t>(std::max<std::int64_t>(counters.bytes_current, 0))) +
         ", largest free block " + core::format_bytes(held.largest_free);
}

namespace {

using core::report_node;

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names)
    text += (text.empty() ? "" : " > ") + name;
  return text;
}

std::uint64_t positive(std::int64_t value) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(value, 0));
}

/// A stack's counts, sizes and layers (the same for a device's stack and its managed one).
void describe_stack(report_node& node, const stack_report& report) {
  const counter_totals& c = report.counters;
  node.set("stack", joined(report.stack->names()));
  report_node layers = layers_report(*report.stack);
  node.set("held_from_cuda_bytes", held_from_cuda(layers));
  report_node& calls = node.set("calls", report_node{});
  calls.set("allocations", c.allocations);
  calls.set("frees", c.frees);
  calls.set("out_of_memory", c.failures);
  calls.set("passed_to_cuda", c.pass_throughs);
  calls.set("device_barriers", c.barriers);
  calls.set("trims", c.trims);
  report_node& use = node.set("in_use", report_node{});
  use.set("now_bytes", positive(c.bytes_current));
  use.set("peak_bytes", positive(c.bytes_peak));
  use.set("peak_at_s", static_cast<double>(c.peak_time_ns) / 1e9);
  use.set("total_allocated_bytes", c.bytes_total);
  report_node& sizes = node.set("allocations_by_size", report_node{});
  for (std::size_t i = 0; i < counter_totals::kSizeClasses; ++i)
    sizes.set(counter_totals::size_class_name(i), c.size_classes[i]);
  node.set("layers", std::move(layers));

  const std::vector<leak_site> leaks = leaks_by_site(*report.stack);
  if (leaks.empty()) return;
  std::size_t blocks = 0;
  std::size_t total = 0;
  for (const leak_site& site : leaks) {
    blocks += site.blocks;
    total += site.bytes;
  }
  report_node& still = node.set("still_allocated", report_node{});
  still.set("blocks", static_cast<std::uint64_t>(blocks));
  still.set("size_bytes", static_cast<std::uint64_t>(total));
  still.set("places", static_cast<std::uint64_t>(leaks.size()));
  report_node& places = still.set("place", report_node::list());
  constexpr std::size_t kSitesShown = 10;
  for (std::size_t i = 0; i < std::min(kSitesShown, leaks.size()); ++i) {
    report_node& place = places.push(report_node{});
    place.set("blocks", static_cast<std::uint64_t>(leaks[i].blocks));
    place.set("size_bytes", static_cast<std::uint64_t>(leaks[i].bytes));
    std::string frames;
    std::istringstream lines{leaks[i].trace};
    for (std::string frame; std::getline(lines, frame);) {
      // The shim's own frames say nothing about where the program allocated.
      if (!frame.empty() && frame.find("libgpumem_preload.so") == std::string::npos)
        frames += frame + "\n";
    }
    if (frames.empty()) {
      place.set("allocated_at", "unknown: set [device.tracking] stack_traces = true to see where");
    } else {
      place.set("allocated_at", frames);
    }
  }
}

const char* moment_name(report_moment moment) {
  switch (moment) {
    case report_moment::at_exit:
      return "at exit";
    case report_moment::snapshot:
      return "as a snapshot, while the program runs";
    case report_moment::on_request:
      return "on request, while the program runs";
  }
  return "";
}

}  // namespace

core::report_node build_report(const std::vector<device_report>& devices,
                               const counter_totals& process_pass_throughs,
                               report_moment moment) {
  report_node root;
  root.set("gpumem_report", GPUMEM_VERSION_STRING);
  root.set("pid", static_cast<std::int64_t>(::getpid()));
  root.set("written", moment_name(moment));
  root.set("after_s", static_cast<double>(nanoseconds_since_load()) / 1e9);
  root.set("passed_to_cuda_before_any_stack", process_pass_throughs.pass_throughs);
  report_node& list = root.set("devices", report_node::list());
  for (const device_report& device : devices) {
    report_node& node = list.push(report_node{});
    node.set("device", device.device);
    node.set("memory_bytes", static_cast<std::uint64_t>(device.total_bytes));
    describe_stack(node, device.device_stack);
    report_node& quarantine = node.set("quarantine", report_node{});
    quarantine.set("blocks", static_cast<std::uint64_t>(device.quarantined_blocks));
    quarantine.set("size_bytes", static_cast<std::uint64_t>(device.quarantined_bytes));
    quarantine.set("barriers_on_the_barrier_thread",
                   static_cast<std::uint64_t>(device.background_barriers));
    if (device.managed_stack.stack != nullptr) {
      report_node& managed = node.set("managed", report_node{});
      describe_stack(managed, device.managed_stack);
    }
  }
  return root;
}

std::string write_report(const std::string& kind,
                         const std::string& file,
                         const core::report_node& report,
                         shim_log& log) {
  const bool json = kind == "json";
  std::string path = file;
  if (path.empty()) path = json ? "gpumem-report-{pid}.json" : "stderr";
  path = config::with_pid(path);
  const std::string text = json ? core::report_json(report) : core::report_text(report);
  if (path == "stderr" || path == "stdout") {
    std::FILE* out = path == "stderr" ? stderr : stdout;
    std::fwrite(text.data(), 1, text.size(), out);
    std::fflush(out);
    return path;
  }
  // A regular file (or a new one) is written whole or not at all: under a temporary name of
  // this process's, then renamed over the report. Anything else (/dev/stderr, a pipe) is
  // written as it is.
  struct stat info {};
  const bool regular = ::stat(path.c_str(), &info) != 0 || S_ISREG(info.st_mode);
  const std::string target = regular ? path + ".partial." + std::to_string(::getpid()) : path;
  std::FILE* out = std::fopen(target.c_str(), "w");
  bool written = out != nullptr && std::fwrite(text.data(), 1, text.size(), out) == text.size();
  if (out != nullptr) written = std::fclose(out) == 0 && written;
  if (!written || (regular && std::rename(target.c_str(), path.c_str()) != 0)) {
    const int error = errno;
    if (regular) std::remove(target.c_str());
    log.error("cannot write the report to " + path + ": " + std::strerror(error));
    return "";
  }
  return path;
}

}  // namespace gpumem::preload
