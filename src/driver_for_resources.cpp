// The library's driver table for resources on the driver API (see
// driver/driver_for_resources.hpp): libcuda.so.1 loaded once, on first use.

#include "driver/driver_for_resources.hpp"

namespace gpumem::detail {

const driver::driver_entry_points* driver_for_resources() noexcept {
  static const driver::driver_library library = [] {
    try {
      return driver::load_driver_library();
    } catch (...) {
      return driver::driver_library{};
    }
  }();
  return library.loaded ? &library.legacy : nullptr;
}

}  // namespace gpumem::detail
