# Tests of the allocators and the Thrust integration (polymorphic_allocator,
# stream_allocator_adaptor, thrust_allocator, exec_policy, device_vector, prefetch).
# The programs under cuda/ are host code (no kernel) and run on the simulator and the GPU;
# gpu/test_thrust_algorithms.cu runs Thrust algorithms, so nvcc builds it and it runs on the
# GPU only. Tests that need two devices skip with fewer; the simulator gets two.
gpumem_cuda_test(test_polymorphic_allocator SOURCES cuda/test_polymorphic_allocator.cpp LINK gpumem
                 PLATFORMS sim gpu)
gpumem_cuda_test(test_stream_allocator_adaptor SOURCES cuda/test_stream_allocator_adaptor.cpp LINK gpumem
                 PLATFORMS sim gpu)
gpumem_cuda_test(test_thrust_allocator SOURCES cuda/test_thrust_allocator.cpp LINK gpumem PLATFORMS sim gpu
                 ENVIRONMENT GPUMEM_SIM_DEVICES=2)
gpumem_cuda_test(test_prefetch SOURCES cuda/test_prefetch.cpp LINK gpumem PLATFORMS sim gpu)

gpumem_cuda_test(test_thrust_algorithms SOURCES gpu/test_thrust_algorithms.cu LINK gpumem PLATFORMS gpu)
# The shared runtime, the one libgpumem.so links: one CUDA runtime in the process.
set_target_properties(test_thrust_algorithms PROPERTIES CUDA_RUNTIME_LIBRARY Shared)
