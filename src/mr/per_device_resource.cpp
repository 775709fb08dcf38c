#include "gpumem/mr/per_device_resource.hpp"

#include <map>
#include <mutex>

#include "gpumem/mr/cuda_memory_resource.hpp"

namespace gpumem::mr {
namespace {

/// The entries of every device that has been asked about or set.
class per_device_table {
 public:
  static per_device_table& instance() {
    // Never destroyed: resources are looked up from static destructors of other objects.
    static auto* table = new per_device_table();
    return *table;
  }

  template <typename Function>
  auto with_entry(cuda_device_id device, Function&& function) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(device.value());
    if (it == entries_.end()) it = entries_.emplace(device.value(), initial_entry()).first;
    return function(it->second);
  }

  static detail::per_device_entry initial_entry() {
    return detail::per_device_entry{detail::initial_resource(), std::nullopt};
  }

 private:
  std::mutex mutex_;
  std::map<int, detail::per_device_entry> entries_;
};

}  // namespace

namespace detail {

device_memory_resource* initial_resource() {
  // cuda_memory_resource is stateless, so one instance serves every device.
  static auto* resource = new cuda_memory_resource();
  return resource;
}

per_device_entry per_device_entry_of(cuda_device_id device) {
  return per_device_table::instance().with_entry(device, [](auto& entry) { return entry; });
}

per_device_entry exchange_per_device_reference(
    cuda_device_id device, std::optional<device_async_resource_ref> new_reference) {
  return per_device_table::instance().with_entry(device, [&new_reference](auto& entry) {
    const per_device_entry previous = entry;
    if (new_reference)
      entry.reference = new_reference;
    else
      entry = per_device_table::initial_entry();
    return previous;
  });
}

}  // namespace detail

device_memory_resource* get_per_device_resource(cuda_device_id device) {
  return detail::per_device_entry_of(device).resource;
}

device_memory_resource* set_per_device_resource(cuda_device_id device,
                                                device_memory_resource* new_resource) {
  return per_device_table::instance().with_entry(device, [new_resource](auto& entry) {
    auto* previous = entry.resource;
    entry = new_resource == nullptr ? per_device_table::initial_entry()
                                    : detail::per_device_entry{new_resource, std::nullopt};
    return previous;
  });
}

device_memory_resource* get_current_device_resource() {
  return get_per_device_resource(get_current_cuda_device());
}

device_memory_resource* set_current_device_resource(device_memory_resource* new_resource) {
  return set_per_device_resource(get_current_cuda_device(), new_resource);
}

}  // namespace gpumem::mr
