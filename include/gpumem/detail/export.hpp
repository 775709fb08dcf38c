#pragma once

/**
 * @file export.hpp
 * @brief GPUMEM_EXPORT: a declaration keeps default visibility in code built with hidden
 * symbols, so it names the one entity libgpumem.so defines.
 */

/// Default symbol visibility, whatever -fvisibility the including code is built with.
#define GPUMEM_EXPORT __attribute__((visibility("default")))
