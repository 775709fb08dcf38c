/*
 * The control interface of gpumem's CUDA simulator, exported by its libcuda.so.1 beside the
 * driver API. Tests find these functions with dlsym() on the loaded libcuda.so.1; a program
 * running on a real driver does not have them (gpumemSimIsSimulator is absent), which is how a
 * test tells the simulator from a GPU.
 */
#ifndef GPUMEM_SIM_H
#define GPUMEM_SIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Passed as a device to count over all devices (pinned host memory included). */
#define GPUMEM_SIM_ALL_DEVICES (-1)

/** Returns 1: the loaded libcuda.so.1 is the simulator. */
int gpumemSimIsSimulator(void);

/** Allocations not yet freed on a device, or on all devices with GPUMEM_SIM_ALL_DEVICES;
 * physical memory of cuMemCreate counts until it is freed (handle released, last mapping
 * unmapped), mappings and address reservations do not count. */
size_t gpumemSimOutstandingAllocations(int device);

/** Device memory in use on a device (allocations rounded up to 256 bytes, cuMemCreate's
 * physical memory included). */
uint64_t gpumemSimBytesInUse(int device);

/** How often a driver function was called by its exported name ("cuMemAlloc_v2"). */
uint64_t gpumemSimCallCount(const char* function_name);

/** Sets every call count to zero. */
void gpumemSimResetCallCounts(void);

/** Makes the n-th allocation from now fail with CUDA_ERROR_OUT_OF_MEMORY (0: off). */
void gpumemSimFailAllocation(uint64_t n);

/** Makes every allocation larger than `bytes` fail with CUDA_ERROR_OUT_OF_MEMORY (0: off). */
void gpumemSimFailAbove(uint64_t bytes);

/** Reports `bytes` less free memory on every device, as if another process used them. */
void gpumemSimHideMemory(uint64_t bytes);

/** Resets a device's primary context the way a statically linked runtime's cudaDeviceReset
 * does, without calling a driver entry point (its memory, streams and events go; the context
 * gets a new cuCtxGetId). */
void gpumemSimResetDeviceInternally(int device);

#ifdef __cplusplus
}
#endif

#endif /* GPUMEM_SIM_H */
