#include "cuda_platform.hpp"

#include <dlfcn.h>

#include <stdexcept>

namespace gpumem::test {
namespace {

void* driver_handle() {
  static void* handle = [] {
    void* loaded = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    return loaded != nullptr ? loaded : dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  }();
  return handle;
}

template <typename Function>
Function simulator_function(const char* name) {
  void* handle = driver_handle();
  void* function = handle != nullptr ? dlsym(handle, name) : nullptr;
  if (function == nullptr) {
    throw std::logic_error(std::string("not running on the CUDA simulator (no ") + name + ")");
  }
  return reinterpret_cast<Function>(function);
}

}  // namespace

cuda_platform detect_cuda_platform(std::string* why) {
  const auto say = [why](std::string text) {
    if (why != nullptr) *why = std::move(text);
  };
  void* handle = driver_handle();
  if (handle == nullptr) {
    say(std::string("libcuda.so.1 cannot be loaded (no NVIDIA driver): ") + dlerror());
    return cuda_platform::none;
  }
  if (dlsym(handle, "gpumemSimIsSimulator") != nullptr) {
    say("libcuda.so.1 is gpumem's CUDA simulator");
    return cuda_platform::simulator;
  }
  using init_function = int (*)(unsigned);
  using count_function = int (*)(int*);
  auto* init = reinterpret_cast<init_function>(dlsym(handle, "cuInit"));
  auto* count = reinterpret_cast<count_function>(dlsym(handle, "cuDeviceGetCount"));
  int devices = 0;
  if (init == nullptr || count == nullptr) {
    say("libcuda.so.1 has no cuInit/cuDeviceGetCount");
    return cuda_platform::none;
  }
  if (const int status = init(0); status != 0) {
    say("cuInit failed with CUresult " + std::to_string(status) + " (no usable GPU)");
    return cuda_platform::none;
  }
  if (count(&devices) != 0 || devices == 0) {
    say("the NVIDIA driver reports no CUDA device");
    return cuda_platform::none;
  }
  say("NVIDIA driver with " + std::to_string(devices) + " device(s)");
  return cuda_platform::gpu;
}

bool on_simulator() {
  static const bool simulator = detect_cuda_platform() == cuda_platform::simulator;
  return simulator;
}

namespace simulator {
std::size_t outstanding_allocations(int device) {
  return simulator_function<std::size_t (*)(int)>("gpumemSimOutstandingAllocations")(device);
}
std::uint64_t bytes_in_use(int device) {
  return simulator_function<std::uint64_t (*)(int)>("gpumemSimBytesInUse")(device);
}
std::uint64_t call_count(const char* function_name) {
  return simulator_function<std::uint64_t (*)(const char*)>("gpumemSimCallCount")(function_name);
}
void reset_call_counts() {
  simulator_function<void (*)()>("gpumemSimResetCallCounts")();
}
void fail_allocation(std::uint64_t n) {
  simulator_function<void (*)(std::uint64_t)>("gpumemSimFailAllocation")(n);
}
void fail_above(std::uint64_t bytes) {
  simulator_function<void (*)(std::uint64_t)>("gpumemSimFailAbove")(bytes);
}
void hide_memory(std::uint64_t bytes) {
  simulator_function<void (*)(std::uint64_t)>("gpumemSimHideMemory")(bytes);
}
void reset_device_internally(int device) {
  simulator_function<void (*)(int)>("gpumemSimResetDeviceInternally")(device);
}
}  // namespace simulator

}  // namespace gpumem::test
