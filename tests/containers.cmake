# Tests of the streams and containers (cuda_stream, cuda_stream_pool, device_buffer,
# device_uvector, device_scalar), on the simulator and on the GPU. test_device_buffer runs
# with two simulated devices for its multi-device checks (skipped on a one-GPU machine).
gpumem_cuda_test(test_cuda_stream SOURCES cuda/test_cuda_stream.cpp LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_device_buffer SOURCES cuda/test_device_buffer.cpp LINK gpumem PLATFORMS sim gpu
                 ENVIRONMENT GPUMEM_SIM_DEVICES=2)
gpumem_cuda_test(test_device_uvector SOURCES cuda/test_device_uvector.cpp LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_device_scalar SOURCES cuda/test_device_scalar.cpp LINK gpumem PLATFORMS sim gpu)
