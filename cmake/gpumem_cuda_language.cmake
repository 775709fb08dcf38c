# nvcc compiles only the sources that launch kernels (tests and examples). Without an
# explicit CMAKE_CUDA_ARCHITECTURES the build targets the GPU of this machine when one is
# visible, and Hopper (sm_90, the H100/H200) otherwise, so a machine without a GPU still
# builds what the GPU machine runs.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  execute_process(COMMAND nvidia-smi -L RESULT_VARIABLE gpumem_no_gpu OUTPUT_QUIET ERROR_QUIET)
  if(gpumem_no_gpu EQUAL 0)
    set(CMAKE_CUDA_ARCHITECTURES native)
  else()
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
endif()
if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS "${CUDAToolkit_NVCC_EXECUTABLE}")
  set(CMAKE_CUDA_COMPILER "${CUDAToolkit_NVCC_EXECUTABLE}")
endif()
set(CMAKE_CUDA_STANDARD 20)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
enable_language(CUDA)
