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
enable_language(CUDA)
# CMake 3.25 does not know nvcc's flag for C++20 (nvcc has it since CUDA 12.0); tell it, so
# CUDA sources compile as C++20 like the rest (they include gpumem's headers).
if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION OR CMAKE_CUDA20_STANDARD_COMPILE_OPTION STREQUAL "")
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
endif()
set(CMAKE_CUDA_STANDARD 20)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
set(CMAKE_CUDA_EXTENSIONS OFF)
