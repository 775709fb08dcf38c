#pragma once

/**
 * @file cuda_device.hpp
 * @brief CUDA device ids and queries of the current device and its memory.
 */

#include <cstddef>
#include <utility>

namespace gpumem {

/// A strongly typed CUDA device ordinal.
struct cuda_device_id {
  /// The underlying integer type.
  using value_type = int;

  /// The id of device 0.
  cuda_device_id() noexcept = default;
  /// The id of device `id`.
  constexpr explicit cuda_device_id(value_type id) noexcept : id_{id} {}
  /// The ordinal.
  [[nodiscard]] constexpr value_type value() const noexcept { return id_; }
  /// Ids compare by ordinal.
  friend constexpr bool operator==(cuda_device_id, cuda_device_id) noexcept = default;
  /// Ids order by ordinal.
  friend constexpr auto operator<=>(cuda_device_id, cuda_device_id) noexcept = default;

 private:
  value_type id_{};
};

/**
 * @brief The device of the calling thread (cudaGetDevice).
 * @throws gpumem::cuda_error when CUDA cannot tell
 */
[[nodiscard]] cuda_device_id get_current_cuda_device();

/// The number of CUDA devices; 0 when there is no usable driver or device.
[[nodiscard]] int get_num_cuda_devices();

/**
 * @brief Free and total memory of the current device, in bytes (cudaMemGetInfo).
 * @throws gpumem::cuda_error when CUDA cannot tell
 */
[[nodiscard]] std::pair<std::size_t, std::size_t> available_device_memory();

/**
 * @brief `percent` % of the current device's free memory, rounded down to a multiple of 256.
 * @pre 0 < percent <= 100
 * @throws gpumem::logic_error for a percent outside (0, 100]
 */
[[nodiscard]] std::size_t percent_of_free_device_memory(int percent);

/**
 * @brief Makes a device current for a scope, and the previous one current again at its end.
 *
 * Does nothing (no CUDA call) when the device is already current.
 */
class cuda_set_device_raii {
 public:
  /// Makes `device` current. @throws gpumem::cuda_error when it cannot be made current
  explicit cuda_set_device_raii(cuda_device_id device);
  /// Makes the previous device current again.
  ~cuda_set_device_raii() noexcept;
  cuda_set_device_raii(const cuda_set_device_raii&) = delete;
  cuda_set_device_raii& operator=(const cuda_set_device_raii&) = delete;
  cuda_set_device_raii(cuda_set_device_raii&&) = delete;
  cuda_set_device_raii& operator=(cuda_set_device_raii&&) = delete;

 private:
  cuda_device_id previous_;
  bool switched_;
};

}  // namespace gpumem
