// Seed example 01: the Programming Guide's basic example (seed 000_0f306e1fe9c1a347.txt, lines
// 9-26): a cuda_async_memory_resource as the current device resource, then a 1024-byte
// device_buffer on a new stream. The seed's lines are as printed; every line that is not the
// seed's says `added`.
#include <rmm/mr/device/cuda_async_memory_resource.hpp>
#include <rmm/mr/per_device_resource.hpp>
#include <rmm/device_buffer.hpp>
#include <iostream>
#include <rmm/cuda_stream.hpp>  // added: the seed uses rmm::cuda_stream without including its header

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {
    // Use async MR (recommended)
    rmm::mr::cuda_async_memory_resource async_mr;
    rmm::mr::set_current_device_resource_ref(async_mr);

    // Allocate device memory
    rmm::cuda_stream stream;
    rmm::device_buffer buffer(1024, stream.view());

    std::cout << "Allocated " << buffer.size() << " bytes\n";

    // added: check: the buffer holds 1024 usable bytes of device memory, from async_mr, on stream
    using namespace example_checks;
    expect(buffer.size() == 1024, "the buffer's size is 1024");
    expect(is_device_memory_of(buffer.data(), current_device()), "the buffer is device memory of the current device");
    expect(buffer.memory_resource() == rmm::device_async_resource_ref{async_mr},
           "the buffer came from async_mr, the current device resource");
    expect(buffer.stream() == stream.view(), "the buffer's stream is `stream`");
    round_trip(buffer.data(), buffer.size(), stream.value());
    if (finish("basic_example") != 0) return 1;  // added

    return 0;
}
