#include "gpumem/mr/statistics_resource_adaptor.hpp"

#include <mutex>
#include <thread>

#include "gpumem/error.hpp"

namespace gpumem::mr::detail {

statistics_adaptor_core::statistics_adaptor_core(device_async_resource_ref upstream)
    : resource_adaptor_core{upstream} {}

statistics_adaptor_core::counter statistics_adaptor_core::get_bytes_counter() const noexcept {
  std::lock_guard lock{lock_};
  return bytes_;
}

statistics_adaptor_core::counter statistics_adaptor_core::get_allocations_counter() const noexcept {
  std::lock_guard lock{lock_};
  return allocations_;
}

std::pair<statistics_adaptor_core::counter, statistics_adaptor_core::counter>
statistics_adaptor_core::push_counters() {
  std::lock_guard lock{lock_};
  // Growing the stack may allocate under the lock; pushes are rare, and a failed push changes
  // nothing.
  enclosing_scopes_.emplace_back(bytes_, allocations_);
  bytes_ = counter{};
  allocations_ = counter{};
  return enclosing_scopes_.back();
}

std::pair<statistics_adaptor_core::counter, statistics_adaptor_core::counter>
statistics_adaptor_core::pop_counters() {
  std::lock_guard lock{lock_};
  if (enclosing_scopes_.empty()) {
    throw gpumem::out_of_range{
        "gpumem: statistics_resource_adaptor::pop_counters: no scope was pushed"};
  }
  const std::pair<counter, counter> inner{bytes_, allocations_};
  bytes_ = enclosing_scopes_.back().first;
  allocations_ = enclosing_scopes_.back().second;
  enclosing_scopes_.pop_back();
  bytes_.add_counters_from_tracked_sub_block(inner.first);
  allocations_.add_counters_from_tracked_sub_block(inner.second);
  return inner;
}

void* statistics_adaptor_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  void* ptr = allocate_upstream(bytes, stream);
  std::lock_guard lock{lock_};
  bytes_ += static_cast<std::int64_t>(bytes);
  allocations_ += 1;
  return ptr;
}

void statistics_adaptor_core::do_deallocate(void* ptr,
                                            std::size_t bytes,
                                            cuda_stream_view stream) noexcept {
  deallocate_upstream(ptr, bytes, stream);
  std::lock_guard lock{lock_};
  bytes_ -= static_cast<std::int64_t>(bytes);
  allocations_ -= 1;
}

bool statistics_adaptor_core::do_is_equal(const device_memory_resource& other) const noexcept {
  return same_core_and_upstream<statistics_adaptor_core>(other);
}

}  // namespace gpumem::mr::detail
