#pragma once

/**
 * @file tracking_resource_adaptor.hpp
 * @brief Remembers every outstanding allocation (and optionally where it was made), to find
 * leaks and wrong frees.
 */

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gpumem/mr/detail/resource_adaptor_core.hpp"

namespace gpumem {
namespace detail {

/// The return addresses of a call stack, captured with glibc's backtrace().
class stack_trace {
 public:
  /// The stack of the caller (at most 64 frames).
  [[nodiscard]] static stack_trace capture();

  /// The return addresses, innermost first.
  [[nodiscard]] const std::vector<void*>& frames() const noexcept { return frames_; }

  /// One line per frame, `#<n> <symbol or module+offset>`, each line ending in a newline
  /// (symbols of executables need linking with -rdynamic to appear).
  [[nodiscard]] std::string to_string() const;

 private:
  std::vector<void*> frames_;
};

}  // namespace detail

namespace mr {
namespace detail {

/**
 * @brief The tracking algorithm, independent of the upstream's type (see
 * tracking_resource_adaptor). One mutex guards the map of outstanding allocations; the byte
 * count is an atomic, readable without the mutex.
 */
class tracking_adaptor_core : public resource_adaptor_core {
 public:
  /// What is known of an outstanding allocation.
  struct allocation_info {
    /// Where it was allocated; null unless the adaptor captures stacks. Shared, so snapshots of
    /// the table are cheap to copy.
    std::shared_ptr<const gpumem::detail::stack_trace> strace;
    std::size_t allocation_size;  ///< the bytes requested
  };

  /// A snapshot of the outstanding allocations, by address (RMM returns a reference to its live
  /// map, which is not safe while other threads allocate; gpumem returns a copy).
  [[nodiscard]] std::map<void*, allocation_info> get_outstanding_allocations() const;

  /// The bytes of the outstanding allocations, as requested.
  [[nodiscard]] std::size_t get_allocated_bytes() const noexcept {
    return allocated_bytes_.load(std::memory_order_relaxed);
  }

  /**
   * @brief The outstanding allocations, one per line by address: `<pointer>: <bytes> B`, and,
   * when stacks are captured, ` : callstack:` and the stack's lines after it. Empty when none.
   */
  [[nodiscard]] std::string get_outstanding_allocations_str() const;

  /**
   * @brief Writes the leak report to stderr: a `gpumem: ` line with the count and the bytes of
   * the outstanding allocations, then get_outstanding_allocations_str().
   */
  void log_outstanding_allocations() const;

 protected:
  /// Tracks what passes through to `upstream`, which must outlive the adaptor.
  tracking_adaptor_core(device_async_resource_ref upstream, bool capture_stacks);

 private:
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  bool capture_stacks_;
  mutable std::mutex mutex_;
  std::map<void*, allocation_info> allocations_;
  std::atomic<std::size_t> allocated_bytes_{0};
};

}  // namespace detail

/**
 * @brief Passes every allocation to an upstream resource and remembers the outstanding ones:
 * address, size and, when `capture_stacks` is true, the call stack (glibc backtrace()).
 *
 * Wrong frees are reported on stderr (`gpumem: tracking_resource_adaptor: ...`), never thrown
 * (frees run in destructors):
 * - a pointer this adaptor did not hand out (or already took back) is reported and NOT passed
 *   to the upstream: the upstream did not give it out through this adaptor, so freeing it there
 *   would be a double or foreign free (RMM passes it on);
 * - a known pointer freed with a size other than the allocated one is reported and freed
 *   upstream with the allocated size, which is what the upstream handed out.
 * Allocations made through the upstream before the adaptor existed are unknown to it.
 *
 * Construction forms: (upstream, capture_stacks = false) with `Upstream*`, `Upstream&` (the
 * type is deduced: `tracking_resource_adaptor tracker{cuda_mr}`) or a `device_async_resource_ref`.
 * Thread safe. Two tracking adaptors compare equal when their upstreams do (RMM's rule).
 *
 * @tparam Upstream the upstream resource's type (the adaptor holds a reference to it)
 */
template <typename Upstream>
class tracking_resource_adaptor final : public detail::tracking_adaptor_core {
 public:
  /// Tracks allocations from `*upstream`. @throws gpumem::logic_error when `upstream` is null
  explicit tracking_resource_adaptor(Upstream* upstream, bool capture_stacks = false)
      : tracking_adaptor_core{detail::upstream_ref_checked(upstream, "tracking_resource_adaptor"),
                              capture_stacks} {}

  /// Tracks allocations from `upstream`.
  explicit tracking_resource_adaptor(Upstream& upstream, bool capture_stacks = false) requires(
      !detail::is_device_async_resource_ref_v<Upstream>)
      : tracking_adaptor_core{device_async_resource_ref{upstream}, capture_stacks} {}

  /// Tracks allocations from the resource `upstream` refers to.
  explicit tracking_resource_adaptor(device_async_resource_ref upstream,
                                     bool capture_stacks = false)
      : tracking_adaptor_core{upstream, capture_stacks} {}
};

/// `tracking_resource_adaptor tracker{cuda_mr}` deduces the upstream's type.
template <typename Upstream, typename... Args>
requires(!detail::is_device_async_resource_ref_v<Upstream>)
    tracking_resource_adaptor(Upstream&, Args&&...)
->tracking_resource_adaptor<Upstream>;
/// `tracking_resource_adaptor tracker{&cuda_mr}` deduces the upstream's type.
template <typename Upstream, typename... Args>
tracking_resource_adaptor(Upstream*, Args&&...) -> tracking_resource_adaptor<Upstream>;
/// An adaptor over a resource reference.
template <typename... Args>
tracking_resource_adaptor(device_async_resource_ref, Args&&...)
    -> tracking_resource_adaptor<device_memory_resource>;

}  // namespace mr
}  // namespace gpumem
