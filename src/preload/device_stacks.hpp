#pragma once
// One State per device (the shim's stacks and their counters), built on the device's first
// allocation and set aside, never destroyed, when the device's context is reset. No CUDA here:
// the build is the caller's (tests/unit drives the reset race on the host).

#include <array>
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

namespace gpumem::preload {

/// The states of up to `MaxDevices` devices. Thread safe; a built state is read lock-free.
template <typename State, int MaxDevices = 64>
class device_stacks {
 public:
  device_stacks() = default;
  device_stacks(const device_stacks&) = delete;
  device_stacks& operator=(const device_stacks&) = delete;
  device_stacks(device_stacks&&) = delete;
  device_stacks& operator=(device_stacks&&) = delete;
  /// Destroys every state (the shim's, made once per process, is never destroyed: another
  /// thread may still be inside a retired state, and CUDA frees their memory at exit).
  ~device_stacks() {
    for (auto& slot : slots_)
      delete slot.load();
  }

  /**
   * @brief The state of `device`, built by `build(device, generation, retired)` on first use
   * (`generation`: how many resets came before; `retired`: the device's states set aside by
   * them). When `build` throws, `on_failure(device, error)` runs and the device gets no state
   * until its next reset (null every time, no retry per allocation).
   * @return null for a device out of range or one whose state cannot be built
   */
  template <typename Build, typename OnFailure>
  State* get_or_build(int device, Build&& build, OnFailure&& on_failure) {
    if (device < 0 || device >= MaxDevices) return nullptr;
    if (State* state = slots_[device].load(std::memory_order_acquire); state != nullptr)
      return state;
    std::lock_guard lock(mutex_);
    if (State* state = slots_[device].load(std::memory_order_acquire); state != nullptr)
      return state;
    if (failed_[device]) return nullptr;
    try {
      std::vector<const State*> retired_here;
      for (const auto& [owner, state] : retired_) {
        if (owner == device) retired_here.push_back(state.get());
      }
      std::unique_ptr<State> made = build(device, generations_[device], retired_here);
      slots_[device].store(made.release(), std::memory_order_release);
      return slots_[device].load(std::memory_order_relaxed);
    } catch (const std::exception& error) {
      failed_[device] = true;
      on_failure(device, error);
      return nullptr;
    }
  }

  /// The state of `device` if it is built (never builds it).
  State* built(int device) const noexcept {
    if (device < 0 || device >= MaxDevices) return nullptr;
    return slots_[device].load(std::memory_order_acquire);
  }

  /// How many resets of `device` came before its current (or next) state.
  std::uint32_t generation(int device) const {
    std::lock_guard lock(mutex_);
    return device < 0 || device >= MaxDevices ? 0 : generations_[device];
  }

  /**
   * @brief Sets `device`'s state aside before its context is reset; the next get_or_build()
   * builds a new one. With `seen`, only when the current state is still `seen`: several threads
   * that notice one reset each call this, and only the first sets a state aside (the others
   * would otherwise retire the state the first one's thread has just built).
   * `on_forget(device)` runs under the lock, whether or not a state was built.
   * @return the state set aside, or null (none built, or not `seen` any more)
   */
  template <typename OnForget>
  State* forget(int device, const State* seen, OnForget&& on_forget) {
    if (device < 0 || device >= MaxDevices) return nullptr;
    std::lock_guard lock(mutex_);
    State* current = slots_[device].load(std::memory_order_acquire);
    if (seen != nullptr && current != seen) return nullptr;
    ++generations_[device];
    failed_[device] = false;
    on_forget(device);
    if (current == nullptr) return nullptr;
    slots_[device].store(nullptr, std::memory_order_release);
    retired_.emplace_back(device, std::unique_ptr<State>{current});
    return current;
  }

  /// Every built state (for the report).
  std::vector<const State*> all() const {
    std::vector<const State*> states;
    for (const auto& slot : slots_) {
      if (const State* state = slot.load(std::memory_order_acquire); state != nullptr)
        states.push_back(state);
    }
    return states;
  }

 private:
  mutable std::mutex mutex_;
  std::array<std::atomic<State*>, MaxDevices> slots_{};
  std::array<bool, MaxDevices> failed_{};
  std::array<std::uint32_t, MaxDevices> generations_{};
  std::vector<std::pair<int, std::unique_ptr<State>>> retired_;
};

}  // namespace gpumem::preload
