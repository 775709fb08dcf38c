// Seed example 18: the README's correct multi-device example (seed 003_f3e86e99edc59517.txt, lines
// 391-398): a device_buffer made with device 0 current may be destroyed with device 1 current. The
// seed's lines are as printed, but for its "..." line; every line that is not the seed's says
// `added`. With one device there is no device 1: cudaSetDevice(1) fails and RMM_CUDA_TRY throws
// rmm::cuda_error (buf is then destroyed with device 0 current); the program checks that instead.
#include <rmm/device_buffer.hpp>                   // added: the seed includes no header
#include <rmm/error.hpp>                           // added: the seed includes no header
#include <rmm/mr/device/cuda_memory_resource.hpp>  // added: the seed includes no header
#include <rmm/detail/error.hpp>                    // added: the seed includes no header (RMM_CUDA_TRY)

#include <string>              // added: for the check
#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's block runs in main()
  using namespace example_checks;                         // added
  const int device_count = rmm::get_num_cuda_devices();   // added
  int buffer_device = -1;                                 // added: the device of buf's memory, seen inside the block
  std::string error;                                      // added: what RMM_CUDA_TRY threw, if it threw
  try {                                                   // added: with one device, RMM_CUDA_TRY throws
{
  RMM_CUDA_TRY(cudaSetDevice(0));
  auto mr = rmm::mr::cuda_memory_resource{};
  rmm::device_buffer buf(16, rmm::cuda_stream_default, &mr);
  buffer_device = attributes_of(buf.data()).device;  // added: check
  RMM_CUDA_TRY(cudaSetDevice(1));
  // added: the seed's "..." is work done with device 1 current while buf lives; here, a check:
  // buf's 16 bytes are usable with device 1 current
  round_trip(buf.data(), buf.size());
  // No need to switch back to device 0 before ~buf runs
}
  } catch (const rmm::cuda_error& thrown) {  // added
    error = thrown.what();                   // added
  }                                          // added

  // added: check
  std::printf("%d device(s)\n", device_count);
  if (device_count >= 2) {
    expect(error.empty(), "the seed's block runs without an error (" + error + ")");
    expect(buffer_device == 0, "buf is device 0 memory");
    expect(current_device() == 1, "~buf freed its memory on device 0 and left device 1 current");
    expect_cuda(cudaGetLastError(), "no CUDA call failed (cudaGetLastError)");
  } else {
    std::printf("one device: cudaSetDevice(1) fails: %s\n", error.c_str());
    expect(error.find("cudaErrorInvalidDevice") != std::string::npos,
           "with one device, RMM_CUDA_TRY(cudaSetDevice(1)) throws rmm::cuda_error (cudaErrorInvalidDevice)");
    expect(buffer_device == 0, "buf is device 0 memory");
    expect(current_device() == 0, "device 0 stays current");
  }
  return finish("readme_multidevice_correct");
}  // added
