#pragma once
// The driver's entry points for resources that need the driver API itself (CUDA's virtual
// memory management has no runtime counterpart): the library loads its own table once
// (src/driver_for_resources.cpp); the preload passes its real driver's (src/preload/).

#include "driver/driver_entry_points.hpp"

namespace gpumem::detail {

/// The legacy-stream table of the driver, or nullptr when libcuda.so.1 could not be loaded.
[[nodiscard]] const driver::driver_entry_points* driver_for_resources() noexcept;

}  // namespace gpumem::detail
