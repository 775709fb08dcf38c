#include "preload/shim.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "config/configuration.hpp"
#include "config/stack_builder.hpp"
#include "core/byte_size.hpp"
#include "core/per_thread.hpp"
#include "gpumem/detail/spin_lock.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/expandable_memory_resource.hpp"
#include "gpumem/mr/logging_resource_adaptor.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "mr/sanitizer_annotations.hpp"
#include "preload/barrier_thread.hpp"
#include "preload/capture_guard.hpp"
#include "preload/context_tracking.hpp"
#include "preload/device_stacks.hpp"
#include "preload/driver_sources.hpp"
#include "preload/free_quarantine.hpp"
#include "preload/pointer_registry.hpp"
#include "preload/real_driver.hpp"
#include "preload/report_snapshots.hpp"
#include "preload/shim_log.hpp"
#include "preload/shim_report.hpp"

namespace gpumem::preload {
namespace {

// Initial-exec: read on every interposed call, and the preload is loaded at start-up, so the
// variable sits in the static TLS block instead of behind __tls_get_addr.
__attribute__((tls_model("initial-exec"))) thread_local int pass_through_depth = 0;

/// Streams destroyed so far (and device resets, which destroy theirs): a memo of a stream's
/// device holds while this has not changed.
std::atomic<std::uint64_t> stream_destructions{0};

/// The program's stream captures and the barrier thread's barriers, kept apart.
capture_guard stream_captures;

const driver::driver_entry_points& cu() {
  return real_driver().legacy;
}

using context_tracking::current_device;
using context_tracking::device_scope;
using context_tracking::primary_context_active;
using context_tracking::primary_contexts;

/// One device's stacks and what the report needs of them.
/// Layers that hand the program the very pointer they got from below, for the same size: what
/// is under them sees the program's blocks.
bool passes_blocks_through(std::string_view layer) {
  return layer == "statistics" || layer == "tracking" || layer == "limit" || layer == "prefetch" ||
         layer == "logging";
}

struct device_state {
  device_state(free_quarantine::byte_bound quarantine_bytes,
               std::size_t quarantine_blocks,
               std::chrono::nanoseconds background_after)
      : held{quarantine_bytes, quarantine_blocks, background_after} {}

  int device = -1;
  std::uint32_t generation = 0;       ///< how many resets of the device came before this stack
  CUcontext primary = nullptr;        ///< the device's primary context
  unsigned long long context_id = 0;  ///< its cuCtxGetId when the stack was built (0: unknown)
  std::uint64_t total_bytes = 0;
  config::built_stack device_stack;
  mutable std::mutex managed_mutex;
  std::unique_ptr<config::built_stack> managed_stack;
  free_quarantine held;
  /// Runs the quarantine's barriers ahead of a full share while the device lags (null: they
  /// run on the freeing thread, barrier_thread = "off").
  std::unique_ptr<barrier_thread> background;
  stack_counters counters;          ///< the device stack's
  stack_counters managed_counters;  ///< the managed stack's

  /// What the shim does for a stack besides allocating from it (see stack_extras_of).
  struct stack_extras {
    /// Its logging layer, when that layer sees the program's own blocks (null otherwise): a
    /// free the quarantine holds is logged when the program makes it.
    mr::detail::logging_adaptor_core* log = nullptr;
    /// Whether the program's blocks are the pool's, in cudaMalloc slabs registered with
    /// compute-sanitizer: their regions are then narrowed to the program's sizes.
    bool narrows_regions = false;
    /// The stack's top layer when it is a pool (the default stack): the quarantine hands it
    /// what a barrier released in one batch.
    mr::detail::pool_resource_core* pool_on_top = nullptr;
  };
  stack_extras device_extras;
  stack_extras managed_extras;  ///< set with managed_stack

  [[nodiscard]] const stack_extras& extras_for(bool managed) const noexcept {
    return managed ? managed_extras : device_extras;
  }

  /// The counters of the stack that serves `managed` (or not) requests.
  stack_counters& counters_for(bool managed) noexcept {
    return managed ? managed_counters : counters;
  }
};

enum class free_policy { synchronize, quarantine, stream_ordered };

/// What the shim does for `stack` besides allocating: the logging layer it logs frees ahead to
/// (only one that sees the program's blocks: not under a pool or an aligning layer), and
/// whether a served block is one of the pool's regions for compute-sanitizer (the pool is the
/// first layer that keeps blocks, and its slabs are cudaMalloc memory, not mappings).
device_state::stack_extras stack_extras_of(const config::built_stack& stack) {
  device_state::stack_extras extras;
  extras.pool_on_top = dynamic_cast<mr::detail::pool_resource_core*>(&stack.top());
  for (const std::string& name : stack.names()) {  // outermost first
    if (name == "logging" && extras.log == nullptr) {
      extras.log = dynamic_cast<mr::detail::logging_adaptor_core*>(stack.find(name));
    }
    if (passes_blocks_through(name)) continue;
    extras.narrows_regions = name == "pool" && dynamic_cast<const mr::expandable_memory_resource*>(
                                                   stack.find("expandable")) == nullptr;
    break;
  }
  return extras;
}

/// The process's shim: created on first use, never destroyed (CUDA goes away at exit before
/// static destructors could return memory; the driver reclaims it with the context).
class shim_state {
 public:
  shim_state() : config_{config::configuration::load(std::nullopt, config::process_environment())} {
    log_ = std::make_unique<shim_log>(config_);
    report_missing_entry_points();
    if (!config_.valid() && config_.valid_to_run()) {
      // A stray variable or an option an override left without its layer changes nothing the
      // program runs with: say so and run (gpumem check still reports them as errors).
      for (const std::string& problem : config::shown_problems(config_.tolerable_problems()))
        log_->warn(problem + " (ignored: `gpumem check` reports it)");
    } else if (!config_.valid()) {
      for (const std::string& problem : config::shown_problems(config_.errors()))
        log_->error(problem);
      if (config_.process_text("on_error") == "exit") {
        log_->error(
            "the configuration is not valid: stopping (set GPUMEM_ON_ERROR=warn to run on "
            "plain CUDA "
            "instead)");
        log_->flush();
        ::_exit(EXIT_FAILURE);
      }
      log_->warn("the configuration is not valid: every allocation goes to CUDA unchanged");
      enabled_ = false;
      return;
    }
    const std::string policy = config_.process_text("free_policy");
    policy_ = policy == "synchronize"      ? free_policy::synchronize
              : policy == "stream_ordered" ? free_policy::stream_ordered
                                           : free_policy::quarantine;
    // Unset: the default, which grows; set (0 included: a barrier at every free), fixed.
    quarantine_limit_ = bytes_setting("quarantine_size");
    quarantine_block_limit_ = std::get<std::uint64_t>(config_.process("quarantine_blocks").value);
    barrier_thread_ = config_.process_text("barrier_thread");
    bypass_above_ = bytes_setting("bypass_above").value_or(0);
  }

  bool enabled() const noexcept {
    return enabled_ && !shutting_down_.load(std::memory_order_relaxed);
  }
  bool shutting_down() const noexcept { return shutting_down_.load(std::memory_order_relaxed); }
  std::size_t bypass_above() const noexcept { return bypass_above_; }
  free_policy policy() const noexcept { return policy_; }
  pointer_registry& registry() noexcept { return registry_; }
  shim_log& log() noexcept { return *log_; }
  stack_counters& passed_through() noexcept { return passed_through_; }

  /// The stacks of `device`, built on its first allocation; null when they cannot be built.
  device_state* device(int device) {
    return stacks_.get_or_build(
        device,
        [this](int id, std::uint32_t generation, const std::vector<const device_state*>& retired) {
          return build_device(id, generation, retired);
        },
        [this](int id, const std::exception& error) {
          // As for a configuration that is not valid: on_error decides (a user who asked for a
          // pool must not silently run without one).
          if (config_.process_text("on_error") == "exit") {
            log_->error("device " + std::to_string(id) +
                        ": the stack cannot be built: " + error.what() +
                        ": stopping (set GPUMEM_ON_ERROR=warn to run on plain CUDA instead)");
            log_->flush();
            ::_exit(EXIT_FAILURE);
          }
          log_->error(
              "device " + std::to_string(id) +
              ": the stack cannot be built, its allocations go to CUDA unchanged: " + error.what());
          register_exit_report();  // the report asked for still comes
        });
  }

  /// Builds `device`'s stacks (under the table's lock). @throws on any failure
  std::unique_ptr<device_state> build_device(int device,
                                             std::uint32_t generation,
                                             const std::vector<const device_state*>& retired) {
    std::size_t total = 0;
    if (cu().device_total_mem(&total, device) != CUDA_SUCCESS)
      throw gpumem::cuda_error{"cuDeviceTotalMem failed"};
    // What gpumem check finds for this device's memory size makes the stack fail here too.
    const std::vector<std::string> problems = config_.check_for_device(device, total);
    for (const std::string& problem : problems)
      log_->error(problem);
    if (!problems.empty())
      throw gpumem::logic_error{"the configuration is not valid for this device"};
    auto state = std::make_unique<device_state>(
        quarantine_bound(total),
        quarantine_block_limit_,
        barrier_thread_ == "on"    ? std::chrono::nanoseconds{0}
        : barrier_thread_ == "off" ? std::chrono::nanoseconds::max()  // (never lags)
                                   : free_quarantine::kBackgroundAfter);
    if (barrier_thread_ != "off") {
      state->background = std::make_unique<barrier_thread>(
          [this, raw = state.get()] { run_background_barrier(*raw); });
    }
    state->device = device;
    state->generation = generation;
    // The last stack set aside carries the counts of those before it.
    if (!retired.empty()) {
      state->counters.carry_over(retired.back()->counters.totals());
      state->managed_counters.carry_over(retired.back()->managed_counters.totals());
    }
    state->total_bytes = total;
    state->device_stack =
        config::build_stack(config_.device_stack(device), total, driver_sources(device, total));
    state->device_extras = stack_extras_of(state->device_stack);
    if (dynamic_cast<const mr::expandable_memory_resource*>(
            state->device_stack.find("expandable")) != nullptr &&
        mr::detail::sanitizer_annotations::tool_attached()) {
      log_->warn(
          "a tool reads NVTX (compute-sanitizer?): compute-sanitizer refuses NVTX heaps in "
          "CUDA virtual-memory mappings, so it cannot check the expandable source's blocks; "
          "to have memcheck check each served block, run with a stack on cudaMalloc slabs "
          "(GPUMEM_STACK=pool,cuda, or the installed config/pool.toml)");
    }
    grant_peer_access(*state);
    if (CUcontext primary = nullptr; cu().primary_ctx_retain(&primary, device) == CUDA_SUCCESS) {
      primary_contexts[device].store(primary, std::memory_order_relaxed);
      state->primary = primary;
      if (cu().ctx_get_id == nullptr ||
          cu().ctx_get_id(primary, &state->context_id) != CUDA_SUCCESS) {
        state->context_id = 0;
      }
    }
    log_->info("device " + std::to_string(device) + " (" + core::format_bytes(total) + "): stack " +
               joined(state->device_stack.names()));
    register_exit_report();
    return state;
  }

  /// Remembers that `accessor` may reach `peer`'s memory, and grants it on `peer`'s built stack.
  void peer_access_enabled(int accessor, int peer, peer_grant how) {
    if (accessor < 0 || accessor >= kMaxDevices || peer < 0 || peer >= kMaxDevices) return;
    grants(how)[peer].fetch_or(std::uint64_t{1} << accessor);
    if (device_state* state = built(peer); state != nullptr) grant_peer_access(*state);
  }

  /// Forgets that `accessor` may reach `peer`'s memory in the way `how`, and revokes it on
  /// `peer`'s built stack unless the other way still lets it.
  void peer_access_disabled(int accessor, int peer, peer_grant how) {
    if (accessor < 0 || accessor >= kMaxDevices || peer < 0 || peer >= kMaxDevices) return;
    const std::uint64_t bit = std::uint64_t{1} << accessor;
    grants(how)[peer].fetch_and(~bit);
    if ((accessors_of(peer) & bit) != 0) return;
    device_state* state = built(peer);
    if (state == nullptr) return;
    auto* expandable =
        dynamic_cast<mr::expandable_memory_resource*>(state->device_stack.find("expandable"));
    if (expandable == nullptr) return;
    device_scope scope{real_driver(), peer};
    try {
      expandable->revoke_access(cuda_device_id{accessor});
    } catch (const std::exception& error) {
      log_->error("device " + std::to_string(accessor) + "'s access to device " +
                  std::to_string(peer) + "'s memory cannot be revoked: " + error.what());
    }
  }

  /// Grants the devices recorded as peers of `state`'s device access to its expandable source.
  void grant_peer_access(device_state& state) {
    auto* expandable =
        dynamic_cast<mr::expandable_memory_resource*>(state.device_stack.find("expandable"));
    const std::uint64_t accessors = accessors_of(state.device);
    if (expandable == nullptr || accessors == 0) return;
    device_scope scope{real_driver(), state.device};
    for (int accessor = 0; accessor < kMaxDevices; ++accessor) {
      if ((accessors >> accessor & 1U) == 0 || accessor == state.device) continue;
      try {
        expandable->grant_access(cuda_device_id{accessor});
      } catch (const std::exception& error) {
        log_->error("device " + std::to_string(accessor) + " cannot be granted access to device " +
                    std::to_string(state.device) + "'s memory: " + error.what());
      }
    }
  }

  /// The limit layer's size in `device`'s configured stack (0: no limit), without building it.
  std::size_t configured_limit(int device, std::uint64_t device_total) const {
    for (const config::resolved_layer& layer : config_.device_stack(device).layers) {
      if (layer.name != "limit") continue;
      for (const auto& [spec, value] : layer.options) {
        if (spec->key == "size" && value) {
          return static_cast<std::size_t>(
              config::bytes_of(std::get<core::byte_size>(value->value), device_total));
        }
      }
    }
    return 0;
  }

  /// The stacks of `device` if they are built (never builds them).
  device_state* built(int device) const noexcept { return stacks_.built(device); }

  /// Sets the stacks of `device` aside before its context is reset (see forget_device). With
  /// `seen`, only when they are still the stacks the caller found reset: another thread that
  /// saw the same reset may have set them aside and built new ones already, which stay.
  void forget(int device, const device_state* seen = nullptr) {
    // Kept, not destroyed: destroying would free slabs that the reset frees, and another thread
    // may still be inside the old stack (a race the program made, not a crash we make).
    stream_destructions.fetch_add(1, std::memory_order_relaxed);  // the reset destroys them
    const device_state* retired = stacks_.forget(device, seen, [](int id) {
      if (id >= 0 && id < kMaxDevices) primary_contexts[id].store(nullptr);
      forget_stack_memory(id);
    });
    if (retired != nullptr) {
      // Its barrier thread ends before the reset: a barrier in the context being destroyed, or
      // one that retains the device's primary context again, must not come.
      if (retired->background) retired->background->stop();
      log_->info("device " + std::to_string(device) +
                 ": reset; its stack is set aside, the next allocation builds a new one");
    }
  }

  /// On the barrier thread of `device`: one barrier over the quarantine's shares.
  void run_background_barrier(device_state& device) noexcept;

  /// The managed stack of a device, built on its first managed allocation.
  config::built_stack* managed(device_state& state) {
    std::lock_guard lock(state.managed_mutex);
    if (!state.managed_stack) {
      state.managed_stack = std::make_unique<config::built_stack>(
          config::build_stack(config_.managed_stack(),
                              state.total_bytes,
                              driver_sources(state.device, state.total_bytes)));
      state.managed_extras = stack_extras_of(*state.managed_stack);
    }
    return state.managed_stack.get();
  }

  std::vector<const device_state*> built_devices() const { return stacks_.all(); }

  /// Stops the snapshots and makes the shim pass every call to CUDA (at exit).
  void shut_down() noexcept {
    if (report_snapshots* snapshots = snapshots_.load(std::memory_order_acquire)) snapshots->stop();
    shutting_down_.store(true);
    // A barrier thread waits for its barrier, then ends: the shim makes no CUDA call after.
    for (const device_state* seen : built_devices()) {
      if (device_state* device = built(seen->device); device != nullptr && device->background)
        device->background->stop();
    }
  }

  /// Writes the report (`moment` says why), if one is configured, where the user said.
  void write_report_now(report_moment moment) {
    const std::string kind = config_.process_text("report");
    if (kind == "off") return;
    std::vector<device_report> reports;
    for (const device_state* state : built_devices()) {
      device_report report{state->device,
                           state->total_bytes,
                           {&state->device_stack, state->counters.totals()},
                           {nullptr, state->managed_counters.totals()}};
      {
        std::lock_guard lock(state->managed_mutex);
        report.managed_stack.stack = state->managed_stack.get();
      }
      report.quarantined_blocks = state->held.blocks();
      report.quarantined_bytes = state->held.bytes();
      report.background_barriers = state->background ? state->background->runs() : 0;
      reports.push_back(report);
    }
    const core::report_node report = build_report(reports, passed_through_.totals(), moment);
    const std::string file =
        moment == report_moment::snapshot ? snapshot_file() : config_.process_text("report_file");
    const std::string written = write_report(kind, file, report, *log_);
    if (written.empty()) return;  // said in the log; the last snapshot, if any, stays
    if (written == "stderr" || written == "stdout") {
      if (moment == report_moment::at_exit && snapshot_written_) {
        // The whole report went to the stream: the last snapshot (in a file) is stale now.
        std::remove(config::with_pid(snapshot_file()).c_str());
      }
      return;
    }
    if (moment != report_moment::snapshot) {
      // A report in a file is found only if the user is told where.
      std::fprintf(stderr, "gpumem: report written to %s\n", written.c_str());
    } else if (!snapshot_written_) {
      std::fprintf(stderr,
                   "gpumem: report snapshots every %llu s in %s (replaced by the report at exit)\n",
                   static_cast<unsigned long long>(
                       std::get<std::uint64_t>(config_.process("report_interval").value)),
                   written.c_str());
    }
    if (moment == report_moment::snapshot) snapshot_written_ = true;
  }

 private:
  /// The quarantine's bound in bytes on a device of `total` bytes: quarantine_size when set;
  /// by default 32 MiB, or room for 16 of the largest block a thread holds, at most 1/16 of
  /// the device. A barrier then releases at least 16 blocks of any size up to 1/256 of the
  /// device, and a program of small blocks holds 32 MiB at most (T9: the README's demo).
  free_quarantine::byte_bound quarantine_bound(std::size_t total) const {
    if (quarantine_limit_) return {*quarantine_limit_};
    constexpr std::size_t kLeast = std::size_t{32} << 20;
    constexpr std::size_t kBlocksOfLargest = 16;
    constexpr std::size_t kShareOfDevice = 16;
    return {kLeast, kBlocksOfLargest, total / kShareOfDevice};
  }

  /// A size in bytes the configuration gives for `key`; nullopt when it gives none.
  std::optional<std::size_t> bytes_setting(std::string_view key) const {
    const auto& size = std::get<core::byte_size>(config_.process(key).value);
    if (!size.bytes) return std::nullopt;
    return static_cast<std::size_t>(*size.bytes);
  }

  static std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names)
      text += (text.empty() ? "" : " > ") + name;
    return text;
  }

  void register_exit_report();

  /// Where snapshots go: the report file, or gpumem-report-{pid}.json/.txt when the report goes
  /// to stderr or stdout.
  std::string snapshot_file() const {
    const std::string& file = config_.process_text("report_file");
    if (!file.empty() && file != "stderr" && file != "stdout") return file;
    return config_.process_text("report") == "json" ? "gpumem-report-{pid}.json"
                                                    : "gpumem-report-{pid}.txt";
  }

  /// Starts the snapshot thread when a report, and an interval or a signal, are configured.
  void start_snapshots() {
    const auto interval =
        std::chrono::seconds{std::get<std::uint64_t>(config_.process("report_interval").value)};
    const std::string& signal_name = config_.process_text("report_signal");
    const int signal = signal_name == "sigusr1" ? SIGUSR1 : signal_name == "sigusr2" ? SIGUSR2 : 0;
    if (interval.count() == 0 && signal == 0) return;
    if (config_.process_text("report") == "off") {
      log_->warn(
          "report_interval and report_signal need a report (report = \"text\" or "
          "\"json\"): none is written");
      return;
    }
    // Never destroyed, as the shim itself: exit stops it.
    snapshots_.store(new report_snapshots(interval,
                                          signal,
                                          [this](report_moment moment) {
                                            try {
                                              pass_through_scope scope;
                                              write_report_now(moment);
                                            } catch (const std::exception& error) {
                                              log_->warn(std::string{"a report could not be "
                                                                     "written: "} +
                                                         error.what());
                                            }
                                          }),
                     std::memory_order_release);
  }

  /// Names the driver entry points the driver lacks: without a required one the shim is off
  /// (every call goes to CUDA unchanged); an optional one only disables what needs it.
  void report_missing_entry_points() {
    const driver::driver_library& driver = real_driver();
    if (driver.missing.empty()) return;
    std::string names;
    for (const std::string& name : driver.missing)
      names += (names.empty() ? "" : ", ") + name;
    // (Without a required one, real_driver() said so on stderr already.)
    if (driver.loaded)
      log_->info("the CUDA driver lacks " + names + ": the shim works without them");
  }

  config::configuration config_;
  std::unique_ptr<shim_log> log_;
  bool enabled_ = true;
  free_policy policy_ = free_policy::quarantine;
  std::optional<std::size_t> quarantine_limit_;  ///< quarantine_size; unset: the default
  std::size_t quarantine_block_limit_ = 0;
  std::string barrier_thread_;  ///< "auto", "on" or "off"
  std::size_t bypass_above_ = 0;
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> exit_report_registered_{false};
  /// Set once, read by exit on any thread.
  std::atomic<report_snapshots*> snapshots_{nullptr};
  bool snapshot_written_ = false;  ///< (only the snapshot thread and, after it stops, exit write)
  device_stacks<device_state, kMaxDevices> stacks_;
  pointer_registry registry_;
  /// For each device, the devices the program let reach its memory by peer access, and by its
  /// memory pool (bit i: device i).
  std::array<std::atomic<std::uint64_t>, kMaxDevices> peer_accessors_{};
  std::array<std::atomic<std::uint64_t>, kMaxDevices> pool_accessors_{};

  std::array<std::atomic<std::uint64_t>, kMaxDevices>& grants(peer_grant how) noexcept {
    return how == peer_grant::context ? peer_accessors_ : pool_accessors_;
  }
  /// The devices that may reach `device`'s memory one way or the other.
  std::uint64_t accessors_of(int device) const noexcept {
    return peer_accessors_[device].load() | pool_accessors_[device].load();
  }
  stack_counters passed_through_;
};

std::atomic<shim_state*> the_shim{nullptr};
std::mutex the_shim_mutex;

void reset_in_child() {
  // CUDA does not survive fork: the child starts without stacks (the parent's are left alone,
  // their memory belongs to the parent's context).
  the_shim.store(nullptr);
  context_tracking::forget_all_primary_contexts();
  // Another thread of the parent may have held the mutex at the fork; in the child that thread
  // does not exist, so the mutex starts over unlocked.
  new (&the_shim_mutex) std::mutex();
  core::detail::per_thread_owners::reset_after_fork();  // (taken at every thread's end)
  stream_captures.reset_after_fork();
}

shim_state& shim() {
  if (shim_state* state = the_shim.load(std::memory_order_acquire); state != nullptr) return *state;
  std::lock_guard lock(the_shim_mutex);
  if (shim_state* state = the_shim.load(std::memory_order_acquire); state != nullptr) return *state;
  static std::once_flag fork_handler;
  std::call_once(fork_handler, [] { pthread_atfork(nullptr, nullptr, reset_in_child); });
  auto* created = new shim_state();
  the_shim.store(created, std::memory_order_release);
  return *created;
}

/// Which quarantined blocks to release.
enum class quarantined { own, all };
void release_quarantine(shim_state& state, device_state& device, quarantined which);

/// At exit (exit() from any thread, or quick_exit): blocks the program freed that wait in the
/// quarantine go down the stacks after one barrier, so a logging layer writes their frees;
/// every logging layer writes what it holds; then the report.
void finish_at_exit() {
  shim_state* state = the_shim.load();
  if (state == nullptr) return;
  state->shut_down();
  try {
    pass_through_scope scope;
    for (const device_state* seen : state->built_devices()) {
      device_state* device = state->built(seen->device);  // the same stacks, to change
      if (device == nullptr) continue;
      release_quarantine(*state, *device, quarantined::all);
      for (const config::built_stack* stack :
           {&device->device_stack, device->managed_stack.get()}) {
        if (stack == nullptr) continue;
        if (auto* logging =
                dynamic_cast<mr::detail::logging_adaptor_core*>(stack->find("logging"))) {
          logging->flush();
        }
      }
    }
  } catch (...) {
    // The report still follows.
  }
  state->write_report_now(report_moment::at_exit);
}

void shim_state::register_exit_report() {
  // Registered at the first stack, after the CUDA runtime registered its own teardown, so it
  // runs before it: the report sees live stacks, and afterwards the shim makes no CUDA call.
  if (!exit_report_registered_.exchange(true)) {
    std::atexit(finish_at_exit);
    std::at_quick_exit(finish_at_exit);
    start_snapshots();
  }
}

/// Whether the device's primary context was reset since its stack was built: the reset makes
/// it a new context, with a new id. Asked on allocations that reach the shim through the driver
/// only (a statically linked runtime resets without any entry point the preload sees; the
/// shared runtime's cudaDeviceReset is hooked).
bool context_was_reset(const device_state& device) {
  if (device.context_id == 0) return false;
  unsigned long long id = 0;
  return cu().ctx_get_id(device.primary, &id) != CUDA_SUCCESS || id != device.context_id;
}

/// Releases quarantined blocks of a device: the calling thread's (after a device barrier when
/// its share is full), or every thread's after one barrier (to give memory back, at exit).
/// One device barrier for the quarantine (the device's primary context current): every
/// stream's work that could still use the blocks completes before any is reused. CUDA refuses
/// a device synchronization while a stream of the device captures a graph: the blocks then
/// stay in quarantine until a later barrier succeeds.
bool quarantine_barrier(shim_state& state, device_state& device) {
  const CUresult status = cu().ctx_synchronize();
  if (status == CUDA_SUCCESS) {
    device.counters.record_barrier();
  } else if (state.log().debug_enabled()) {
    state.log().debug("device " + std::to_string(device.device) +
                      ": the barrier failed (CUresult " + std::to_string(status) +
                      "); the freed blocks wait for the next");
  }
  return status == CUDA_SUCCESS;
}

void shim_state::run_background_barrier(device_state& device) noexcept {
  try {
    pass_through_scope scope;
    // A device reset since the request set this stack aside: its context is gone (and making
    // the device's context current here would retain a new one).
    if (device.primary == nullptr ||
        primary_contexts[device.device].load(std::memory_order_relaxed) != device.primary) {
      return;
    }
    // The stack's own context (device_scope could retain the primary context anew).
    if (cu().ctx_push_current(device.primary) != CUDA_SUCCESS) return;
    struct pop_on_exit {
      ~pop_on_exit() {
        CUcontext popped = nullptr;
        (void)cu().ctx_pop_current(&popped);
      }
    } pop;
    // Once the program began a graph capture the barrier does not run here (it could break
    // one): it counts as failed, the blocks wait, and freeing threads run the barriers.
    device.held.background_barrier([&] {
      return stream_captures.barrier_unless_capturing(
          [&] { return quarantine_barrier(*this, device); });
    });
  } catch (const std::exception& error) {
    log_->warn(std::string{"a background barrier failed inside the shim: "} + error.what());
  } catch (...) {
  }
}

void release_quarantine(shim_state& state, device_state& device, quarantined which) {
  device_scope scope{real_driver(), device.device};
  const auto barrier = [&] { return quarantine_barrier(state, device); };
  const auto in_background = [&] {
    return device.background != nullptr && device.background->request();
  };
  // A pool on top of the device stack takes the released blocks in one batch.
  mr::detail::pool_resource_core* const pool = device.device_extras.pool_on_top;
  std::vector<void*> batch;
  const auto release_one = [&](const free_quarantine::block& block) {
    config::built_stack* stack = block.managed ? state.managed(device) : &device.device_stack;
    stack->top().deallocate(block.pointer, block.size, cuda_stream_view{cudaStreamLegacy});
  };
  const auto release = [&](const free_quarantine::block& block) {
    if (block.managed || pool == nullptr) return release_one(block);
    try {
      batch.push_back(block.pointer);
    } catch (const std::bad_alloc&) {
      release_one(block);  // no host memory for the batch: one at a time
    }
  };
  try {
    if (which == quarantined::all) {
      (void)device.held.release_all(barrier, release);
    } else {
      (void)device.held.release(barrier, release, in_background);
    }
  } catch (...) {
    // A layer of another stack threw: what was gathered is out of the quarantine already.
    if (!batch.empty()) pool->deallocate_many(batch, cuda_stream_view{cudaStreamLegacy});
    throw;
  }
  if (!batch.empty()) pool->deallocate_many(batch, cuda_stream_view{cudaStreamLegacy});
}

/// Gives back what a device's stacks hold free, so an allocation can be retried.
void trim(shim_state& state, device_state& device) {
  device.counters.record_trim();
  release_quarantine(state, device, quarantined::all);
  device_scope scope{real_driver(), device.device};
  config::built_stack* managed = nullptr;
  {
    std::lock_guard lock(device.managed_mutex);
    managed = device.managed_stack.get();
  }
  for (config::built_stack* stack : {&device.device_stack, managed}) {
    if (stack == nullptr) continue;
    if (auto* pool = dynamic_cast<mr::detail::pool_resource_core*>(stack->find("pool"));
        pool != nullptr) {
      (void)pool->release();
    }
  }
}

/// The stream the stacks see for a request. Synchronous requests (cudaMalloc, cudaFree, managed)
/// are keyed by cudaStreamLegacy, which the sub-allocators of the preload build treat as "idle
/// for every stream": only blocks that passed a device barrier or a host wait reach it. A
/// stream-ordered request on the legacy stream, however spelled (0, or CU_STREAM_LEGACY, which
/// a per-thread-default-stream program must use for it), is keyed by 0, so its frees, still in
/// use on the legacy stream, never reach synchronous requests without a wait.
cuda_stream_view stream_for(request_kind kind, CUstream stream, bool per_thread) {
  if (kind != request_kind::stream_ordered) return cuda_stream_view{cudaStreamLegacy};
  if (stream == CU_STREAM_LEGACY) return cuda_stream_view{cudaStream_t{}};
  if (stream == nullptr && per_thread) return cuda_stream_view{cudaStreamPerThread};
  return cuda_stream_view{stream};
}

/// Whether `stream` captures a graph. No stream captures before the program began a capture,
/// and the capture hooks announce every begin (the capture guard): until then no driver call
/// (cuStreamIsCapturing, about 26 ns on an H200, on every stream-ordered allocation and
/// free). A stream-ordered request on a capturing stream comes after its begin returned, in
/// the capturing thread or in one the program ordered after it, so it sees the announcement.
/// (Only a begin through CUDA 10.0's cuStreamBeginCapture, which has no hook, goes unseen, and
/// a program of CUDA 10.0's headers has no stream-ordered allocation to make.)
bool capturing(CUstream stream, bool per_thread) {
  if (!stream_captures.captured()) return false;
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  const auto& table = per_thread ? real_driver().per_thread : real_driver().legacy;
  return table.stream_is_capturing(stream, &status) == CUDA_SUCCESS &&
         status != CU_STREAM_CAPTURE_STATUS_NONE;
}

/// An allocation in a context the program created: to CUDA.
answer not_primary(shim_state& state, std::size_t bytes) {
  state.passed_through().record_pass_through();
  if (state.log().debug_enabled()) {
    state.log().debug(std::to_string(bytes) +
                      " bytes in a context the program created (not a primary context): to CUDA");
  }
  return answer::pass_through();
}

}  // namespace

std::optional<int> current_device_id() noexcept {
  try {
    return current_device(real_driver()).device;
  } catch (...) {
    return std::nullopt;
  }
}

void peer_access_disabled(int accessor, int peer, peer_grant how) noexcept {
  try {
    if (shim_state* state = the_shim.load(std::memory_order_acquire); state != nullptr) {
      pass_through_scope scope;
      state->peer_access_disabled(accessor, peer, how);
    }
  } catch (...) {
    // The log could not be written: nothing else to do.
  }
}

void peer_access_enabled(int accessor, int peer, peer_grant how) noexcept {
  try {
    // The shim may not exist yet (no allocation so far): the grant must wait for the stack.
    pass_through_scope scope;
    shim().peer_access_enabled(accessor, peer, how);
  } catch (...) {
    // The log could not be written: nothing else to do.
  }
}

void stream_destroyed() noexcept {
  stream_destructions.fetch_add(1, std::memory_order_relaxed);
}

void capture_beginning() noexcept {
  stream_captures.capture_beginning();
}

void forget_device(int device) noexcept {
  try {
    if (shim_state* state = the_shim.load(std::memory_order_acquire); state != nullptr)
      state->forget(device);
  } catch (...) {
    // Nothing was built, or the log could not be written: nothing to set aside.
  }
}

bool in_pass_through() noexcept {
  return pass_through_depth > 0;
}
pass_through_scope::pass_through_scope() noexcept {
  ++pass_through_depth;
}
pass_through_scope::~pass_through_scope() {
  --pass_through_depth;
}

answer allocate(std::size_t bytes,
                request_kind kind,
                CUstream stream,
                bool per_thread,
                bool check_reset) noexcept {
  try {
    shim_state& state = shim();
    if (!state.enabled() || bytes == 0) return answer::pass_through();
    if (state.bypass_above() != 0 && bytes > state.bypass_above()) {
      state.passed_through().record_pass_through();
      if (state.log().debug_enabled())
        state.log().debug(std::to_string(bytes) + " bytes: above bypass_above, to CUDA");
      return answer::pass_through();
    }
    // A graph under capture owns its allocations: CUDA makes them graph nodes.
    if (kind == request_kind::stream_ordered && capturing(stream, per_thread)) {
      state.passed_through().record_pass_through();
      if (state.log().debug_enabled())
        state.log().debug(std::to_string(bytes) + " bytes on a capturing stream: to CUDA");
      return answer::pass_through();
    }
    const context_tracking::current_context current = current_device(real_driver());
    if (!current.exists)
      return answer::without_context();  // the runtime makes one; the driver reports it
    const std::optional<int> device_id = current.device;
    if (!device_id) return answer::pass_through();
    // The stacks serve the devices' primary contexts (the runtime's). A context the program
    // created (cuCtxCreate) goes to CUDA unchanged: its memory goes when it is destroyed, and
    // a stack shared with it could hand that memory out afterwards.
    if (!current.primary && state.built(*device_id) != nullptr) return not_primary(state, bytes);
    if (!current.primary && !primary_context_active(real_driver(), *device_id)) {
      // The primary context does not exist (yet, or again after a reset): the runtime makes it
      // (then asks again); through the driver the call goes to CUDA.
      return answer::without_context();
    }
    device_state* device = state.device(*device_id);
    if (device != nullptr && check_reset && context_was_reset(*device)) {
      state.forget(*device_id, device);
      device = state.device(*device_id);
    }
    if (device == nullptr) return answer::pass_through();
    if (device->primary != current.context) return not_primary(state, bytes);
    config::built_stack* stack =
        kind == request_kind::managed ? state.managed(*device) : &device->device_stack;
    const cuda_stream_view on = stream_for(kind, stream, per_thread);
    void* pointer = nullptr;
    try {
      pointer = stack->top().allocate(bytes, on);
    } catch (const gpumem::out_of_memory&) {
      state.log().info("device " + std::to_string(*device_id) + ": " + std::to_string(bytes) +
                       " bytes do not fit; giving back cached memory and trying again");
      trim(state, *device);
      try {
        pointer = stack->top().allocate(bytes, on);
      } catch (const gpumem::out_of_memory& error) {
        state.log().out_of_memory(
            *device_id,
            bytes,
            error.what(),
            device_report_line(*stack,
                               device->counters_for(kind == request_kind::managed).totals()));
        device->counters_for(kind == request_kind::managed).record_failure();
        return answer::failed(CUDA_ERROR_OUT_OF_MEMORY);
      }
    }
    // Layers above a pool ask it for sizes rounded up to 256 bytes: the sanitizer's region is
    // the program's size.
    if (device->extras_for(kind == request_kind::managed).narrows_regions)
      mr::detail::sanitizer_annotations::block_requested(pointer, bytes);
    state.registry().insert(pointer,
                            allocation_record{bytes,
                                              *device_id,
                                              kind == request_kind::managed,
                                              kind == request_kind::stream_ordered,
                                              device->generation});
    device->counters_for(kind == request_kind::managed).record_allocation(bytes);
    return answer::served(pointer);
  } catch (const std::exception& error) {
    // Anything but a lack of memory: let CUDA do it, and say why once.
    shim().log().warn(std::string{"an allocation goes to CUDA unchanged: "} + error.what());
    return answer::pass_through();
  }
}

namespace {

/// The stream whose device the calling thread asked for last, and the answer: a program frees
/// on the same stream over and over. Valid while no stream was destroyed since (a handle
/// CUDA hands out again may belong to another device).
struct stream_device_memo {
  CUstream stream = nullptr;
  int device = -1;
  std::uint64_t destructions = 0;
};
constinit
    __attribute__((tls_model("initial-exec"))) thread_local stream_device_memo last_stream_device;

/// The device of a stream-ordered free's stream: the calling thread's current device for the
/// default streams, else the driver's answer; nullopt when the driver cannot say.
std::optional<int> device_of_stream(CUstream stream, bool per_thread) {
  if (stream == nullptr || stream == CU_STREAM_LEGACY || stream == CU_STREAM_PER_THREAD)
    return current_device_id();
  const std::uint64_t destructions = stream_destructions.load(std::memory_order_relaxed);
  if (last_stream_device.stream == stream && last_stream_device.destructions == destructions)
    return last_stream_device.device;
  const auto& table = per_thread ? real_driver().per_thread : real_driver().legacy;
  CUdevice device = -1;
  if (table.stream_get_device != nullptr &&
      table.stream_get_device(stream, &device) == CUDA_SUCCESS) {
    last_stream_device = {stream, device, destructions};
    return device;
  }
  // Drivers before cuStreamGetDevice (CUDA 12.8): the stream's context, and its device.
  CUcontext context = nullptr;
  if (table.stream_get_ctx == nullptr || table.stream_get_ctx(stream, &context) != CUDA_SUCCESS ||
      table.ctx_push_current(context) != CUDA_SUCCESS) {
    return std::nullopt;
  }
  const bool known = table.ctx_get_device(&device) == CUDA_SUCCESS;
  CUcontext popped = nullptr;
  (void)table.ctx_pop_current(&popped);
  if (known) return device;
  return std::nullopt;
}

/// A free the quarantine holds reaches the stack's logging layer, if any, when the program
/// makes it (the layer then logs nothing when the block goes down after the barrier).
void log_free_now(device_state& device, void* pointer, const allocation_record& record) {
  if (auto* log = device.extras_for(record.managed).log)
    log->log_free_ahead(pointer, record.size, cuda_stream_view{cudaStreamLegacy});
}

}  // namespace

answer deallocate(void* pointer, request_kind kind, CUstream stream, bool per_thread) noexcept {
  if (pointer == nullptr) return answer::pass_through();
  shim_state& state = shim();
  std::optional<allocation_record> record = state.registry().take(pointer);
  device_state* device = record ? state.built(record->device) : nullptr;
  // A block served before its device was reset went with the context: it is unknown now.
  if (record && (device == nullptr || device->generation != record->generation)) record.reset();
  if (!record) {
    // Not handed out by the shim. The start of one of its slabs (a block freed twice, say)
    // is refused as CUDA refuses a double free; anything else is CUDA's to free.
    if (is_stack_memory(pointer)) {
      state.log().warn(
          "a free of a pointer inside the shim's memory that is not allocated (freed twice?): "
          "refused "
          "with CUDA_ERROR_INVALID_VALUE");
      return answer::failed(CUDA_ERROR_INVALID_VALUE);
    }
    if (state.log().debug_enabled())
      state.log().debug("a free of a pointer the shim did not serve: to CUDA");
    return answer::pass_through();
  }
  // At exit, CUDA is being torn down: the driver reclaims the memory with the context.
  if (state.shutting_down()) return answer::served(nullptr);
  device->counters_for(record->managed).record_free(record->size);
  try {
    config::built_stack* stack = record->managed ? state.managed(*device) : &device->device_stack;
    if (kind == request_kind::stream_ordered && !capturing(stream, per_thread)) {
      const std::optional<int> stream_device = device_of_stream(stream, per_thread);
      if (stream_device && *stream_device != record->device) {
        // Freed on another device's stream (streamOrderedAllocationP2P frees device 0's block
        // on device 1's stream): the owner's pool can order reuse only after streams of its
        // own device (an event records on those alone), so the host waits for that stream
        // here, and the block is then idle for every stream.
        const auto& table = per_thread ? real_driver().per_thread : real_driver().legacy;
        (void)table.stream_synchronize(stream);
        device_scope scope{real_driver(), record->device};
        stack->top().deallocate(pointer, record->size, cuda_stream_view{cudaStreamLegacy});
        return answer::served(nullptr);
      }
      device_scope scope{real_driver(), record->device};
      stack->top().deallocate(pointer, record->size, stream_for(kind, stream, per_thread));
      return answer::served(nullptr);
    }
    // cudaFree / cuMemFree (or a free during a capture): the memory may still be in use by
    // work on any stream, which real CUDA would have waited for. Only the policies that reach
    // CUDA now need the owning device current; the quarantine's release makes it current.
    switch (state.policy()) {
      case free_policy::stream_ordered: {
        device_scope scope{real_driver(), record->device};
        stack->top().deallocate(pointer, record->size, cuda_stream_view{cudaStreamLegacy});
        break;
      }
      case free_policy::synchronize: {
        device_scope scope{real_driver(), record->device};
        if (cu().ctx_synchronize() == CUDA_SUCCESS) {
          stack->top().deallocate(pointer, record->size, cuda_stream_view{cudaStreamLegacy});
          device->counters.record_barrier();
          break;
        }
        // CUDA refuses the barrier (a stream is capturing): the block waits in the quarantine
        // for the next barrier that succeeds, as under the quarantine policy.
        log_free_now(*device, pointer, *record);
        (void)device->held.hold({pointer, record->size, record->managed});
        break;
      }
      case free_policy::quarantine: {
        // Bounded in bytes and in blocks: a barrier per thousand frees costs little, and the
        // registry and quarantine stay small enough to stay in cache.
        log_free_now(*device, pointer, *record);
        if (device->held.hold({pointer, record->size, record->managed}))
          release_quarantine(state, *device, quarantined::own);
        break;
      }
    }
    return answer::served(nullptr);
  } catch (const std::exception& error) {
    state.log().warn(std::string{"a free failed inside the shim: "} + error.what());
    return answer::served(nullptr);
  }
}

bool refuse_ipc_handle(const void* pointer) noexcept {
  try {
    shim_state* state = the_shim.load(std::memory_order_acquire);
    if (pointer == nullptr || state == nullptr || !real_driver().loaded) return false;
    // The CUDA allocation the pointer lies in: one of the stacks' slabs for any served block
    // (and for an interior pointer of one).
    CUdeviceptr base = 0;
    std::size_t size = 0;
    bool ours = false;
    {
      pass_through_scope scope;
      ours = cu().mem_get_address_range(&base, &size, reinterpret_cast<CUdeviceptr>(pointer)) ==
                 CUDA_SUCCESS &&
             is_stack_memory(reinterpret_cast<const void*>(base));
    }
    if (!ours && !state->registry().contains(pointer) && !is_stack_memory(pointer)) return false;
    state->log().warn(
        "an IPC handle (cudaIpcGetMemHandle, cuIpcGetMemHandle) of a block the shim "
        "sub-allocated would share its whole pool slab with the other process: refused with "
        "an invalid-value error. Keep such buffers out of the pool with "
        "GPUMEM_BYPASS_ABOVE=<size> (larger allocations go to CUDA unchanged), or run the "
        "program without the shim");
    return true;
  } catch (...) {
    return false;
  }
}

void adjust_memory_info(std::size_t* free_bytes, std::size_t* total_bytes) noexcept {
  try {
    shim_state& state = shim();
    if (!state.enabled()) return;
    const std::optional<int> device_id = current_device(real_driver()).device;
    if (!device_id) return;
    // Asking builds nothing (a stack reserves its initial size): before the device's first
    // allocation only the configured limit changes the answer.
    device_state* device = state.built(*device_id);
    held_memory held{};
    std::size_t quarantined_bytes = 0;
    if (device != nullptr) {
      held = memory_held(device->device_stack);
      quarantined_bytes = device->held.bytes();
    } else if (total_bytes != nullptr) {
      held.limit = state.configured_limit(*device_id, *total_bytes);
    }
    std::size_t free_now =
        (free_bytes != nullptr ? *free_bytes : 0) + held.free_in_stack + quarantined_bytes;
    std::size_t total = total_bytes != nullptr ? *total_bytes
                        : device != nullptr    ? device->total_bytes
                                               : 0;
    if (total == 0) return;
    if (held.limit != 0 && held.limit < total) {
      total = held.limit;
      const std::size_t in_use = held.limited_in_use;
      free_now = std::min(free_now, total > in_use ? total - in_use : 0);
    }
    if (free_bytes != nullptr) *free_bytes = std::min(free_now, total);
    if (total_bytes != nullptr) *total_bytes = total;
  } catch (...) {
    // Report what CUDA said.
  }
}

}  // namespace gpumem::preload
