#include "gpumem/mr/per_device_resource.hpp"

#include <map>
#include <mutex>

#include "gpumem/mr/cuda_memory_resource.hpp"

namespace gpumem::mr {
namespace {

/// The resources of every device that has been asked about or set.
class per_device_table {
 public:
  struct entry {
    device_memory_resource* pointer;
    device_async_resource_ref reference;
  };

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

  static entry initial_entry() {
    return entry{&initial_resource(), device_async_resource_ref{initial_resource()}};
  }

 private:
  // cuda_memory_resource is stateless, so one instance serves every device.
  static cuda_memory_resource& initial_resource() {
    static auto* resource = new cuda_memory_resource();
    return *resource;
  }

  std::mutex mutex_;
  std::map<int, entry> entries_;
};

}  // namespace

device_memory_resource* get_per_device_resource(cuda_device_id device) {
  return per_device_table::instance().with_entry(device, [](auto& entry) { return entry.pointer; });
}

device_memory_resource* set_per_device_resource(cuda_device_id device,
                                                device_memory_resource* new_resource) {
  return per_device_table::instance().with_entry(device, [new_resource](auto& entry) {
    auto* previous = entry.pointer;
    entry = new_resource == nullptr
                ? per_device_table::initial_entry()
                : per_device_table::entry{new_resource, device_async_resource_ref{*new_resource}};
    return previous;
  });
}

device_memory_resource* get_current_device_resource() {
  return get_per_device_resource(get_current_cuda_device());
}

device_memory_resource* set_current_device_resource(device_memory_resource* new_resource) {
  return set_per_device_resource(get_current_cuda_device(), new_resource);
}

device_async_resource_ref get_per_device_resource_ref(cuda_device_id device) {
  return per_device_table::instance().with_entry(device,
                                                 [](auto& entry) { return entry.reference; });
}

device_async_resource_ref set_per_device_resource_ref(cuda_device_id device,
                                                      device_async_resource_ref new_resource) {
  return per_device_table::instance().with_entry(device, [new_resource](auto& entry) {
    const device_async_resource_ref previous = entry.reference;
    entry.reference = new_resource;
    return previous;
  });
}

device_async_resource_ref get_current_device_resource_ref() {
  return get_per_device_resource_ref(get_current_cuda_device());
}

device_async_resource_ref set_current_device_resource_ref(device_async_resource_ref new_resource) {
  return set_per_device_resource_ref(get_current_cuda_device(), new_resource);
}

device_async_resource_ref reset_per_device_resource_ref(cuda_device_id device) {
  return per_device_table::instance().with_entry(device, [](auto& entry) {
    const device_async_resource_ref previous = entry.reference;
    entry = per_device_table::initial_entry();
    return previous;
  });
}

device_async_resource_ref reset_current_device_resource_ref() {
  return reset_per_device_resource_ref(get_current_cuda_device());
}

}  // namespace gpumem::mr
