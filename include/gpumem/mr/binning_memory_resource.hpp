#pragma once

/**
 * @file binning_memory_resource.hpp
 * @brief Routes each allocation by size to a bin resource; larger ones to the upstream.
 */

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "gpumem/error.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {
/// One bin of a binning resource, for reports.
struct bin_state {
  std::size_t size;      ///< the largest request the bin serves
  bool owned;            ///< a fixed-size resource the binning resource made (not one given)
  std::size_t reserved;  ///< bytes an owned bin took from the upstream (0 for a given one)
};

namespace detail {

/**
 * @brief The binning resource's algorithm, independent of the upstream's type (see
 * binning_memory_resource).
 *
 * The bins are a table sorted by size; a request goes to the first bin at least as large
 * (a binary search over a few sizes, no lock). add_bin publishes a new table and keeps the old
 * ones until destruction, so allocations running meanwhile keep a valid table.
 */
class binning_resource_core : public device_memory_resource {
 public:
  binning_resource_core(const binning_resource_core&) = delete;
  binning_resource_core& operator=(const binning_resource_core&) = delete;
  binning_resource_core(binning_resource_core&&) = delete;
  binning_resource_core& operator=(binning_resource_core&&) = delete;
  /// Destroys the bins this resource owns (each synchronizes the device and frees its chunks).
  ~binning_resource_core() override;

  /// The resource for requests larger than every bin, and of the bins add_bin creates.
  [[nodiscard]] device_async_resource_ref get_upstream_resource() const noexcept {
    return upstream_;
  }

  /**
   * @brief Adds a bin for requests of up to `allocation_size` bytes (rounded up to 256) that
   * are larger than the next smaller bin's size.
   *
   * The bin is served by `bin_resource`, which must outlive this resource, or, when none is
   * given, by a fixed_size_memory_resource of that block size over the upstream, owned by this
   * resource. If a bin of that size exists already, nothing changes (as in RMM).
   *
   * Safe to call while other threads allocate, but deallocate routes by size: a bin must not
   * take over sizes of which allocations from another resource are still outstanding (add
   * bins before allocating).
   *
   * @throws gpumem::logic_error when `allocation_size` is 0 or too large to round up
   * @throws gpumem::out_of_memory when an owned bin cannot take its first chunk
   */
  void add_bin(std::size_t allocation_size,
               std::optional<device_async_resource_ref> bin_resource = std::nullopt);

  /// The bins, smallest first.
  [[nodiscard]] std::vector<bin_state> bins() const;

 protected:
  /// A resource with no bins: everything goes to `upstream` until add_bin().
  explicit binning_resource_core(device_async_resource_ref upstream);

  /**
   * @brief A resource with owned fixed-size bins of 2^min_size_exponent .. 2^max_size_exponent
   * bytes (none when min > max, as in RMM).
   * @throws gpumem::logic_error when min <= max and an exponent lies outside [0, 63]
   * @throws gpumem::out_of_memory when a bin cannot take its first chunk
   */
  binning_resource_core(device_async_resource_ref upstream,
                        std::int8_t min_size_exponent,
                        std::int8_t max_size_exponent);

 private:
  struct state_type;

  /// The resource serving `bytes`: the smallest bin of at least `bytes`, else the upstream.
  [[nodiscard]] device_async_resource_ref resource_for(std::size_t bytes) const noexcept;

  /// 0 bytes give nullptr. @throws whatever the chosen resource throws (gpumem::out_of_memory, ...)
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /// @pre `bytes` is the size given to allocate (it chooses the resource that frees `ptr`)
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;

  device_async_resource_ref upstream_;
  std::unique_ptr<state_type> state_;
};

}  // namespace detail

/**
 * @brief Serves allocations from size classes ("bins"), each backed by its own resource, and
 * sends requests larger than the largest bin to the upstream.
 *
 * A typical setup: fixed-size bins for small sizes (the exponent constructor makes bins of
 * 2^min .. 2^max bytes, each a fixed_size_memory_resource over the upstream) and a pool as
 * the upstream for the rest. A request of `bytes` goes to the smallest bin of at least
 * `bytes`; `deallocate` must be given the same `bytes` (RMM's contract), which routes it to
 * the same bin. Allocate and deallocate are thread safe and take no lock.
 *
 * Construction forms: `binning_memory_resource<pool_memory_resource<cuda_memory_resource>>
 * mr{&pool}`, `binning_memory_resource mr{pool, 18, 22}` (the upstream type is deduced), and
 * from a `device_async_resource_ref`. The upstream and every bin resource given to add_bin
 * must outlive this resource.
 *
 * @tparam Upstream the upstream resource's type (informational: the resource holds a reference)
 */
template <typename Upstream>
class binning_memory_resource final : public detail::binning_resource_core {
 public:
  /// A binning resource over `*upstream`, with no bins yet. @throws gpumem::logic_error when
  /// `upstream` is null
  explicit binning_memory_resource(Upstream* upstream) : binning_resource_core(checked(upstream)) {}

  /// A binning resource over `upstream`, with no bins yet.
  template <typename U = Upstream>
  requires(!std::is_same_v<U, device_async_resource_ref>) explicit binning_memory_resource(
      U& upstream)
      : binning_resource_core(device_async_resource_ref{upstream}) {}

  /// A binning resource over the resource `upstream` refers to, with no bins yet.
  explicit binning_memory_resource(device_async_resource_ref upstream)
      : binning_resource_core(upstream) {}

  /**
   * @brief A binning resource over `*upstream` with fixed-size bins of 2^min .. 2^max bytes.
   * @throws gpumem::logic_error when `upstream` is null or an exponent is invalid
   * @throws gpumem::out_of_memory when a bin cannot take its first chunk
   */
  binning_memory_resource(Upstream* upstream,
                          std::int8_t min_size_exponent,
                          std::int8_t max_size_exponent)
      : binning_resource_core(checked(upstream), min_size_exponent, max_size_exponent) {}

  /**
   * @brief A binning resource over `upstream` with fixed-size bins of 2^min .. 2^max bytes.
   * @throws gpumem::logic_error when an exponent is invalid
   * @throws gpumem::out_of_memory when a bin cannot take its first chunk
   */
  template <typename U = Upstream>
  requires(!std::is_same_v<U, device_async_resource_ref>)
      binning_memory_resource(U& upstream,
                              std::int8_t min_size_exponent,
                              std::int8_t max_size_exponent)
      : binning_resource_core(
            device_async_resource_ref{upstream}, min_size_exponent, max_size_exponent) {}

  /**
   * @brief A binning resource over the resource `upstream` refers to, with fixed-size bins of
   * 2^min .. 2^max bytes.
   * @throws gpumem::logic_error when an exponent is invalid
   * @throws gpumem::out_of_memory when a bin cannot take its first chunk
   */
  binning_memory_resource(device_async_resource_ref upstream,
                          std::int8_t min_size_exponent,
                          std::int8_t max_size_exponent)
      : binning_resource_core(upstream, min_size_exponent, max_size_exponent) {}

 private:
  static device_async_resource_ref checked(Upstream* upstream);
};

template <typename Upstream>
device_async_resource_ref binning_memory_resource<Upstream>::checked(Upstream* upstream) {
  if (upstream == nullptr)
    throw gpumem::logic_error{"binning_memory_resource: the upstream resource is null"};
  return device_async_resource_ref{*upstream};
}

/// `binning_memory_resource mr{pool, 18, 22}` deduces the upstream's type.
template <typename Upstream, typename... Exponents>
binning_memory_resource(Upstream&, Exponents...) -> binning_memory_resource<Upstream>;
/// `binning_memory_resource mr{&pool, 18, 22}` deduces the upstream's type.
template <typename Upstream, typename... Exponents>
binning_memory_resource(Upstream*, Exponents...) -> binning_memory_resource<Upstream>;
/// A binning resource over a resource reference.
template <typename... Exponents>
binning_memory_resource(device_async_resource_ref, Exponents...)
    -> binning_memory_resource<device_memory_resource>;

}  // namespace gpumem::mr
