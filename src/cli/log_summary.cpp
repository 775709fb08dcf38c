#include "cli/log_summary.hpp"

#include <algorithm>
#include <bit>
#include <optional>
#include <unordered_map>

namespace gpumem::cli {

log_summary summarize(const allocation_log& log, std::size_t timeline_points) {
  log_summary summary;
  summary.failed = log.failed_allocations;
  summary.failures = log.failure_times;
  std::unordered_map<std::uintptr_t, outstanding_block> live;
  std::map<std::size_t, size_class> classes;
  std::map<std::uintptr_t, std::size_t> stream_in_use;
  std::vector<timeline_point> every_event;
  every_event.reserve(log.events.size());
  std::size_t in_use = 0;
  for (const log_event& event : log.events) {
    summary.duration = std::max(summary.duration, event.time);
    if (event.allocate) {
      ++summary.allocations;
      summary.bytes_allocated += event.size;
      live.emplace(
          event.pointer,
          outstanding_block{event.pointer, event.size, event.time, event.thread, event.stream});
      in_use += event.size;
      const std::size_t largest = std::bit_ceil(std::max<std::size_t>(event.size, 1));
      size_class& sizes = classes.try_emplace(largest, size_class{largest}).first->second;
      ++sizes.allocations;
      sizes.bytes += event.size;
      stream_share& stream = summary.streams[event.stream];
      ++stream.allocations;
      stream.bytes += event.size;
      stream.peak_in_use = std::max(stream.peak_in_use, stream_in_use[event.stream] += event.size);
      ++summary.threads[event.thread];
      if (in_use > summary.peak_in_use) {
        summary.peak_in_use = in_use;
        summary.peak_time = event.time;
      }
    } else if (const auto found = live.find(event.pointer); found != live.end()) {
      ++summary.frees;
      in_use -= found->second.size;
      stream_in_use[found->second.stream] -= found->second.size;
      live.erase(found);
    }
    every_event.push_back({event.time, in_use});
  }
  for (auto& [largest, sizes] : classes)
    summary.sizes.push_back(sizes);
  for (const auto& [pointer, block] : live) {
    summary.outstanding.push_back(block);
    summary.outstanding_bytes += block.size;
  }
  std::sort(summary.outstanding.begin(),
            summary.outstanding.end(),
            [](const outstanding_block& a, const outstanding_block& b) {
              return a.allocated_at < b.allocated_at;
            });
  if (every_event.size() <= timeline_points || timeline_points == 0) {
    summary.timeline = std::move(every_event);
    return summary;
  }
  // Each bucket's highest point, so no peak is lost to the thinning.
  std::vector<std::optional<timeline_point>> buckets(timeline_points);
  const double width = summary.duration > 0 ? summary.duration : 1.0;
  for (const timeline_point& point : every_event) {
    const auto index = std::min(
        timeline_points - 1,
        static_cast<std::size_t>(point.time / width * static_cast<double>(timeline_points)));
    if (!buckets[index] || point.in_use > buckets[index]->in_use) buckets[index] = point;
  }
  for (const auto& bucket : buckets) {
    if (bucket) summary.timeline.push_back(*bucket);
  }
  return summary;
}

}  // namespace gpumem::cli
