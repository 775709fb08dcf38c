// Seed example 12: the Programming Guide's multiple devices (seed 000_0f306e1fe9c1a347.txt, lines
// 463-489): one cuda_async_memory_resource per device, each created with its device current and
// set as that device's resource; then a buffer on device 0. It loops over the devices present, so
// it runs on one device as on several. The seed's lines are as printed; every line that is not the
// seed's says `added`.
#include <rmm/mr/device/cuda_async_memory_resource.hpp>
#include <rmm/mr/per_device_resource.hpp>
#include <rmm/cuda_device.hpp>
#include <memory>
#include <vector>
#include <rmm/cuda_stream.hpp>    // added: the seed uses it without including it
#include <rmm/device_buffer.hpp>  // added: the seed uses it without including it

#include <string>              // added: for the check
#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
int num_devices;
cudaGetDeviceCount(&num_devices);

// Store resources to maintain lifetime
std::vector<std::unique_ptr<rmm::mr::cuda_async_memory_resource>> resources;

for (int i = 0; i < num_devices; ++i) {
    // Set device BEFORE creating resource
    cudaSetDevice(i);

    // Create resource for this device
    resources.push_back(std::make_unique<rmm::mr::cuda_async_memory_resource>());

    // Set as per-device resource ref
    rmm::mr::set_per_device_resource_ref(rmm::cuda_device_id{i}, *resources.back());
}

// Use device 0
cudaSetDevice(0);
rmm::cuda_stream stream;
rmm::device_buffer buffer(1024, stream.view());  // Uses device 0's resource

  // added: check: each device has its own resource, which gives memory of that device; the
  // buffer is device 0 memory from device 0's resource
  using namespace example_checks;
  std::printf("%d device(s)\n", num_devices);
  expect(num_devices >= 1 && resources.size() == static_cast<std::size_t>(num_devices),
         "one resource per device");
  for (int i = 0; i < num_devices; ++i) {
    const std::string device = "device " + std::to_string(i);
    auto resource = rmm::mr::get_per_device_resource_ref(rmm::cuda_device_id{i});
    expect(resource == rmm::device_async_resource_ref{*resources[i]}, device + "'s resource is resources[i]");
    // A resource is used with its own device current.
    rmm::cuda_set_device_raii on_device{rmm::cuda_device_id{i}};
    void* ptr = resource.allocate_async(4096, rmm::CUDA_ALLOCATION_ALIGNMENT, rmm::cuda_stream_default);
    expect(is_device_memory_of(ptr, i), device + "'s resource gives " + device + " memory");
    round_trip(ptr, 4096);
    resource.deallocate_async(ptr, 4096, rmm::CUDA_ALLOCATION_ALIGNMENT, rmm::cuda_stream_default);
  }
  expect(current_device() == 0, "device 0 is current");
  expect(is_device_memory_of(buffer.data(), 0), "the buffer is device 0 memory");
  expect(buffer.memory_resource() == rmm::device_async_resource_ref{*resources[0]},
         "the buffer came from device 0's resource");
  round_trip(buffer.data(), buffer.size(), stream.value());
  return finish("multi_device");
}  // added
