# Tests of the resource adaptors (tests/cuda/test_*adaptor*.cpp, test_owning_wrapper.cpp),
# on the simulator and on the GPU. They share the upstreams in cuda/adaptor_test_resources.hpp.
gpumem_cuda_test(test_statistics_adaptor SOURCES cuda/test_statistics_adaptor.cpp LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_logging_adaptor SOURCES cuda/test_logging_adaptor.cpp LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_tracking_adaptor SOURCES cuda/test_tracking_adaptor.cpp LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_limiting_aligned_adaptors SOURCES cuda/test_limiting_aligned_adaptors.cpp LINK gpumem
                 PLATFORMS sim gpu)
gpumem_cuda_test(test_callback_adaptors SOURCES cuda/test_callback_adaptors.cpp LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_thread_safe_prefetch_adaptors SOURCES cuda/test_thread_safe_prefetch_adaptors.cpp
                 LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_owning_wrapper SOURCES cuda/test_owning_wrapper.cpp LINK gpumem PLATFORMS sim gpu)
gpumem_cuda_test(test_adaptor_construction SOURCES cuda/test_adaptor_construction.cpp LINK gpumem
                 PLATFORMS sim gpu)
