#pragma once

/**
 * @file cccl.hpp
 * @brief CCCL's memory resource concepts and resource references (cuda::mr), which CCCL 3.0
 * keeps behind LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE.
 *
 * The gpumem CMake target also defines the macro for its users, so the definition holds even
 * when <cuda/memory_resource> is included before any gpumem header.
 */

#ifndef LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE
#define LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE
#endif

#include <cuda/memory_resource>
#include <cuda/stream_ref>
