#include "cli/replay_command.hpp"

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/allocation_log.hpp"
#include "config/configuration.hpp"
#include "config/stack_builder.hpp"
#include "core/byte_size.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"

namespace gpumem::cli {
namespace {

/// A configuration to replay through.
struct candidate {
  std::string label;
  std::optional<std::string> file;
  config::environment overrides;
};

/// What one replay measured.
struct replay_result {
  std::string stack;
  double nanoseconds_per_operation = 0;
  std::size_t peak_requested = 0;
  std::size_t peak_held = 0;  ///< device memory the process lost, at its most
  std::size_t largest_free_at_peak = 0;
  bool pool_found = false;
  std::size_t out_of_memory = 0;
};

std::size_t free_device_memory() {
  std::size_t free = 0;
  std::size_t total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess)
    throw std::runtime_error{"cudaMemGetInfo failed"};
  return free;
}

/// The logged streams as streams of this process: the default, legacy and per-thread ones as
/// themselves, every other one a new non-blocking stream.
class stream_table {
 public:
  stream_table() = default;
  stream_table(const stream_table&) = delete;
  stream_table& operator=(const stream_table&) = delete;
  ~stream_table() {
    for (const auto& [logged, stream] : created_)
      (void)cudaStreamDestroy(stream);
  }
  cudaStream_t operator()(std::uintptr_t logged) {
    if (logged == 0) return nullptr;
    if (logged == reinterpret_cast<std::uintptr_t>(cudaStreamLegacy)) return cudaStreamLegacy;
    if (logged == reinterpret_cast<std::uintptr_t>(cudaStreamPerThread)) return cudaStreamPerThread;
    auto found = created_.find(logged);
    if (found != created_.end()) return found->second;
    cudaStream_t stream = nullptr;
    if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess)
      throw std::runtime_error{"cudaStreamCreateWithFlags failed"};
    created_.emplace(logged, stream);
    return stream;
  }

 private:
  std::unordered_map<std::uintptr_t, cudaStream_t> created_;
};

/// The device stack `which` names, with a limit layer above its source when `limit` is given.
config::built_stack build(const candidate& which,
                          std::optional<std::uint64_t> limit,
                          std::uint64_t total_bytes) {
  config::environment environment = which.overrides;
  auto configuration = config::configuration::load(which.file, environment);
  if (configuration.valid() && limit) {
    std::string names;
    const auto layers = configuration.device_stack(0).layers;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (i + 1 == layers.size()) names += std::string{names.empty() ? "" : ","} + "limit";
      names += (names.empty() ? "" : ",") + layers[i].name;
    }
    environment.emplace_back("GPUMEM_STACK", names);
    environment.emplace_back("GPUMEM_LIMIT_SIZE", std::to_string(*limit));
    configuration = config::configuration::load(which.file, environment);
  }
  if (!configuration.valid()) {
    std::string problems;
    for (const auto& error : configuration.errors())
      problems += "\n" + error;
    throw std::runtime_error{which.label + ": the configuration is not valid:" + problems};
  }
  return config::build_stack(
      configuration.device_stack(0), total_bytes, config::runtime_sources(total_bytes));
}

/// Replays `log` through a fresh stack; with `measure`, samples the device's free memory after
/// every allocation (the timed run does not).
replay_result replay_once(const allocation_log& log,
                          const candidate& which,
                          std::optional<std::uint64_t> limit,
                          std::uint64_t total_bytes,
                          bool measure) {
  replay_result result;
  if (cudaDeviceSynchronize() != cudaSuccess) throw std::runtime_error{"the device failed"};
  const std::size_t free_before = free_device_memory();
  stream_table streams;
  config::built_stack stack = build(which, limit, total_bytes);
  for (const auto& name : stack.names())
    result.stack += (result.stack.empty() ? "" : " > ") + name;
  auto* pool = dynamic_cast<mr::detail::pool_resource_core*>(stack.find("pool"));
  result.pool_found = pool != nullptr;
  mr::device_memory_resource& top = stack.top();
  struct live_block {
    void* pointer;
    std::size_t size;
    cudaStream_t stream;
  };
  std::unordered_map<std::uintptr_t, live_block> live;
  std::size_t live_bytes = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const log_event& event : log.events) {
    const cudaStream_t stream = streams(event.stream);
    if (!event.allocate) {
      const auto found = live.find(event.pointer);
      if (found == live.end()) continue;  // its allocation failed here
      top.deallocate(found->second.pointer, found->second.size, stream);
      live_bytes -= found->second.size;
      live.erase(found);
      continue;
    }
    void* pointer = nullptr;
    try {
      pointer = top.allocate(event.size, stream);
    } catch (const gpumem::out_of_memory&) {
      // As the shim does: give back what the pool holds, then try once more.
      if (pool != nullptr) {
        pool->release();
        try {
          pointer = top.allocate(event.size, stream);
        } catch (const gpumem::out_of_memory&) {
        }
      }
    }
    if (pointer == nullptr) {
      ++result.out_of_memory;
      continue;
    }
    live.emplace(event.pointer, live_block{pointer, event.size, stream});
    live_bytes += event.size;
    result.peak_requested = std::max(result.peak_requested, live_bytes);
    if (measure) {
      const std::size_t free_now = free_device_memory();
      const std::size_t held = free_before > free_now ? free_before - free_now : 0;
      if (held > result.peak_held) {
        result.peak_held = held;
        if (pool != nullptr) result.largest_free_at_peak = pool->state().largest_free_block;
      }
    }
  }
  if (cudaDeviceSynchronize() != cudaSuccess) throw std::runtime_error{"the device failed"};
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const std::size_t operations = log.events.size();
  result.nanoseconds_per_operation =
      operations == 0 ? 0
                      : static_cast<double>(
                            std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
                            static_cast<double>(operations);
  for (const auto& [logged, block] : live)
    top.deallocate(block.pointer, block.size, block.stream);
  return result;
}

}  // namespace

int replay(const replay_options& options) {
  std::vector<candidate> candidates{
      {"cudaMalloc", std::nullopt, {{"GPUMEM_STACK", "cuda"}}},
      {"cuda_async", std::nullopt, {{"GPUMEM_STACK", "cuda_async"}}},
      {"pool_slabs", std::nullopt, {{"GPUMEM_STACK", "pool,cuda"}}},
      {"default", std::nullopt, {}},
  };
  for (const std::string& file : options.configs)
    candidates.push_back({std::filesystem::path{file}.stem().string(), file, {}});
  const std::optional<std::uint64_t> limit = options.limit;
  try {
    std::ifstream in{options.log};
    if (!in) throw std::runtime_error{options.log + ": cannot be read"};
    const allocation_log log = read_allocation_log(in, options.log);
    cudaDeviceProp properties{};
    if (cudaSetDevice(0) != cudaSuccess || cudaGetDeviceProperties(&properties, 0) != cudaSuccess)
      throw std::runtime_error{"no CUDA device"};
    const std::uint64_t total_bytes = properties.totalGlobalMem;
    std::printf("gpumem replay %s: %zu operations, %zu threads, %zu streams, peak requested %s",
                options.log.c_str(),
                log.events.size(),
                log.threads,
                log.streams,
                core::format_bytes(log.peak_requested).c_str());
    if (log.failed_allocations != 0)
      std::printf(", %zu failed allocations not replayed", log.failed_allocations);
    std::printf("\ndevice 0: %s, %s%s%s\n\n",
                properties.name,
                core::format_bytes(total_bytes).c_str(),
                limit ? ", limit on each source " : "",
                limit ? core::format_bytes(*limit).c_str() : "");
    std::printf(
        "| configuration | stack | ns per operation | peak in use | peak held | held / "
        "in use | largest free block at peak | out of memory |\n|---|---|---|---|---|---|---|"
        "---|\n");
    bool all_ran = true;
    for (const candidate& which : candidates) {
      replay_result memory;
      replay_result timed;
      try {
        memory = replay_once(log, which, limit, total_bytes, true);
        timed = replay_once(log, which, limit, total_bytes, false);
      } catch (const std::exception& error) {
        // One configuration that cannot run (an initial size above the limit, say) does not
        // stop the others.
        std::printf("| %s | did not run: %s | | | | | | |\n", which.label.c_str(), error.what());
        all_ran = false;
        continue;
      }
      const double ratio =
          memory.peak_requested == 0
              ? 0
              : static_cast<double>(memory.peak_held) / static_cast<double>(memory.peak_requested);
      std::printf("| %s | %s | %.0f | %s | %s | %.2f | %s | %zu |\n",
                  which.label.c_str(),
                  memory.stack.c_str(),
                  timed.nanoseconds_per_operation,
                  core::format_bytes(memory.peak_requested).c_str(),
                  core::format_bytes(memory.peak_held).c_str(),
                  ratio,
                  memory.pool_found ? core::format_bytes(memory.largest_free_at_peak).c_str() : "-",
                  memory.out_of_memory);
      std::fflush(stdout);
    }
    return all_ran ? 0 : 1;
  } catch (const std::exception& error) {
    std::cerr << "gpumem replay: " << error.what() << "\n";
    return 1;
  }
}

}  // namespace gpumem::cli
