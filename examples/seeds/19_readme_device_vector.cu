// Seed example 19: the README's rmm::device_vector with multiple devices (seed
// 003_f3e86e99edc59517.txt, lines 415-422): a device_vector made with device 0 current may be
// destroyed with device 1 current. Making the vector initializes its 16 elements with a Thrust
// kernel: nvcc builds this file and it runs on a GPU only. The seed's lines are as printed, but
// for its "..." line; every line that is not the seed's says `added`. With one device there is no
// device 1: cudaSetDevice(1) fails and RMM_CUDA_TRY throws rmm::cuda_error (vec is then destroyed
// with device 0 current); the program checks that instead.
#include <rmm/device_vector.hpp>                        // added: the seed includes no header
#include <rmm/error.hpp>                                // added: the seed includes no header
#include <rmm/mr/device/cuda_memory_resource.hpp>       // added: the seed includes no header
#include <rmm/mr/device/thrust_allocator_adaptor.hpp>   // added: the seed includes no header
#include <rmm/detail/error.hpp>                         // added: the seed includes no header (RMM_CUDA_TRY)

#include <string>              // added: for the check
#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's block runs in main()
  using namespace example_checks;                         // added
  const int device_count = rmm::get_num_cuda_devices();   // added
  int vector_device = -1;                                 // added: the device of vec's memory, seen inside the block
  std::string error;                                      // added: what RMM_CUDA_TRY threw, if it threw
  try {                                                   // added: with one device, RMM_CUDA_TRY throws
{
  RMM_CUDA_TRY(cudaSetDevice(0));
  auto mr = rmm::mr::cuda_memory_resource{};
  rmm::device_vector<int> vec(16, rmm::mr::thrust_allocator<int>(rmm::cuda_stream_default, &mr));
  vector_device = attributes_of(thrust::raw_pointer_cast(vec.data())).device;  // added: check
  RMM_CUDA_TRY(cudaSetDevice(1));
  // added: the seed's "..." is work done with device 1 current while vec lives; here, a check:
  // vec holds 16 zeros (the vector value-initializes them), read with device 1 current
  expect(vec.size() == 16, "vec has 16 elements");
  expect(to_host(thrust::raw_pointer_cast(vec.data()), vec.size()) == std::vector<int>(16, 0),
         "vec's elements are 0");
  // No need to switch back to device 0 before ~vec runs
}
  } catch (const rmm::cuda_error& thrown) {  // added
    error = thrown.what();                   // added
  }                                          // added

  // added: check
  std::printf("%d device(s)\n", device_count);
  if (device_count >= 2) {
    expect(error.empty(), "the seed's block runs without an error (" + error + ")");
    expect(vector_device == 0, "vec is device 0 memory");
    expect(current_device() == 1, "~vec freed its memory on device 0 and left device 1 current");
    expect_cuda(cudaGetLastError(), "no CUDA call failed (cudaGetLastError)");
  } else {
    std::printf("one device: cudaSetDevice(1) fails: %s\n", error.c_str());
    expect(error.find("cudaErrorInvalidDevice") != std::string::npos,
           "with one device, RMM_CUDA_TRY(cudaSetDevice(1)) throws rmm::cuda_error (cudaErrorInvalidDevice)");
    expect(vector_device == 0, "vec is device 0 memory");
    expect(current_device() == 0, "device 0 stays current");
  }
  return finish("readme_device_vector");
}  // added
