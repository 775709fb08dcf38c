// Seed example 17: the README's INCORRECT multi-device example (seed 003_f3e86e99edc59517.txt,
// lines 375-383): a cuda_memory_resource created with device 0 current allocates a device_buffer
// with device 1 current, which the README calls invalid ("MR is only valid for device 0"). The
// seed's lines are as printed; every line that is not the seed's says `added`.
//
// added: what this program runs and why. The README's rule is that a resource may only be used
// with the device that was current at its creation. With a resource that holds per-device state
// (a pool, an arena, cuda_async_memory_resource) breaking it is undefined behaviour: device 0's
// memory handed to device 1's work, or a device 0 memory pool used on a device 1 stream. That must
// not run in a test. The seed's own resource, cuda_memory_resource, holds no such state: it calls
// cudaMalloc on the current device and device_buffer frees with the same device current, so the
// seed's code as printed is well defined in CUDA terms and deterministic. The program runs it as
// printed and shows what goes wrong: the "device 0" resource serves device 1, the buffer's memory
// is device 1 memory, not memory of the device the resource was created for.
// With one device there is no device 1: cudaSetDevice(1) fails and RMM_CUDA_TRY throws
// rmm::cuda_error before the buffer is made; the program checks that instead.
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
  {
    RMM_CUDA_TRY(cudaSetDevice(1));
    // Invalid, current device is 1, but MR is only valid for device 0
    rmm::device_buffer buf(16, rmm::cuda_stream_default, &mr);
    buffer_device = attributes_of(buf.data()).device;  // added: check
  }
}
  } catch (const rmm::cuda_error& thrown) {  // added
    error = thrown.what();                   // added
  }                                          // added

  // added: check
  std::printf("%d device(s)\n", device_count);
  if (device_count >= 2) {
    expect(error.empty(), "the seed's block runs without an error (" + error + ")");
    std::printf("the resource created on device 0 allocated on device %d\n", buffer_device);
    expect(buffer_device == 1,
           "the buffer made with device 1 current holds device 1 memory, although its resource was "
           "created for device 0");
    expect(current_device() == 1, "device 1 is current after the block");
  } else {
    std::printf("one device: cudaSetDevice(1) fails: %s\n", error.c_str());
    expect(error.find("cudaErrorInvalidDevice") != std::string::npos,
           "with one device, RMM_CUDA_TRY(cudaSetDevice(1)) throws rmm::cuda_error (cudaErrorInvalidDevice)");
    expect(buffer_device == -1, "no buffer is made");
    expect(current_device() == 0, "device 0 stays current");
  }
  return finish("readme_multidevice_incorrect");
}  // added
