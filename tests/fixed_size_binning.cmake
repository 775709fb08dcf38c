# Tests of the sub-allocators built on the stream-ordered free lists: fixed-size blocks and bins.
gpumem_cuda_test(test_fixed_size_memory_resource SOURCES cuda/test_fixed_size_memory_resource.cpp LINK gpumem
                 PLATFORMS sim gpu)
gpumem_cuda_test(test_binning_memory_resource SOURCES cuda/test_binning_memory_resource.cpp LINK gpumem
                 PLATFORMS sim gpu)
