# Tests of the CUDA-backed and host resources.
gpumem_cuda_test(test_cuda_async_memory_resource SOURCES cuda/test_cuda_async_memory_resource.cpp
                 LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_system_memory_resources SOURCES cuda/test_system_memory_resources.cpp
                 LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_managed_memory_resource SOURCES cuda/test_managed_memory_resource.cpp
                 LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_host_memory_resources SOURCES cuda/test_host_memory_resources.cpp
                 LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_expandable_memory_resource SOURCES cuda/test_expandable_memory_resource.cpp
                 LINK gpumem gpumem_driver_entry_points PLATFORMS sim gpu)
# Peer access needs two devices: the simulator makes two.
gpumem_add_checked_test(sim.test_expandable_memory_resource_two_devices sim
  COMMAND test_expandable_memory_resource --gtest_filter=*GrantedPeer*
  OUTPUT "^\\[       OK \\] ExpandableMemoryResource.AGrantedPeer"
  NO_OUTPUT "SKIPPED"
  ENVIRONMENT GPUMEM_SIM_DEVICES=2)
# The refusal where the driver has no virtual memory management.
gpumem_add_checked_test(sim.test_expandable_memory_resource_without_vmm sim
  COMMAND test_expandable_memory_resource --gtest_filter=*WithoutVirtualMemoryManagement*
  OUTPUT "^\\[       OK \\] ExpandableMemoryResource.WithoutVirtualMemoryManagement"
  NO_OUTPUT "SKIPPED"
  ENVIRONMENT GPUMEM_SIM_NO_VMM=1)
# The threads' caches of freed blocks in front of the pool and the fixed-size resource.
gpumem_cuda_test(test_thread_block_caches SOURCES cuda/test_thread_block_caches.cpp LINK gpumem
                 PLATFORMS sim gpu)
