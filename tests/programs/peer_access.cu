// Two devices: kernels on device 1 read and write blocks of device 0, and cudaMemcpyPeerAsync
// copies them to device 1, before and after device 0's pool grows; the host checks every word.
//
//   peer_access [--mem-pool | --without-access | --disable-after]
//
// By default the program enables peer access (cudaDeviceEnablePeerAccess) and allocates with
// cudaMalloc; --mem-pool allocates with cudaMallocAsync and lets device 1 reach device 0's
// default memory pool (cudaMemPoolSetAccess), as NVIDIA's streamOrderedAllocationP2P does;
// --without-access does neither, and reports whether device 1's kernel "faulted" or "reached"
// the memory (plain CUDA faults: under the shim it must too). Prints "peer_access: ok: ..." or
// "peer_access: without access: faulted|reached (...)"; --disable-after enables peer access,
// checks a round trip, disables it (cudaDeviceDisablePeerAccess, as simpleP2P does at its end)
// and reports whether device 1's kernel then "faulted" or "reached" the block. Exits 0 unless a
// check fails, 77 with
// fewer than two devices that reach each other.

#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

__global__ void iota(unsigned* words, std::size_t count, unsigned first) {
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    words[i] = first + static_cast<unsigned>(i);
}

/// Waits `nanoseconds`, then writes `word` everywhere: a slow writer on another device.
__global__ void late_fill(unsigned* words, std::size_t count, unsigned word, unsigned nanoseconds) {
  unsigned long long start = 0;
  unsigned long long now = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    __nanosleep(1000);
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < nanoseconds);
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    words[i] = word;
}

__global__ void add_one(unsigned* words, std::size_t count) {
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    words[i] += 1;
}

bool ok(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return true;
  std::printf("peer_access: FAILED: %s: %s\n", what, cudaGetErrorName(status));
  return false;
}

enum class mode { peer_access, mem_pool, without_access, disable_after };

struct streams {
  cudaStream_t zero = nullptr;
  cudaStream_t one = nullptr;
};

void* allocate(mode how, std::size_t bytes, cudaStream_t stream) {
  void* pointer = nullptr;
  const cudaError_t status = how == mode::mem_pool ? cudaMallocAsync(&pointer, bytes, stream)
                                                   : cudaMalloc(&pointer, bytes);
  if (!ok(status, "allocating on device 0")) return nullptr;
  if (how == mode::mem_pool && !ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize"))
    return nullptr;
  return pointer;
}

/// Device 0 writes first + i into `block`, device 1 adds one, then copies it to device 1 and the
/// host checks. Returns the words checked; 0 on failure; -1 when device 1's kernel faulted.
long long round_trip(unsigned* block, std::size_t words, unsigned first, const streams& on) {
  const std::size_t bytes = words * sizeof(unsigned);
  if (!ok(cudaSetDevice(0), "cudaSetDevice(0)")) return 0;
  iota<<<256, 256, 0, on.zero>>>(block, words, first);
  if (!ok(cudaStreamSynchronize(on.zero), "iota on device 0")) return 0;
  if (!ok(cudaSetDevice(1), "cudaSetDevice(1)")) return 0;
  add_one<<<256, 256, 0, on.one>>>(block, words);
  if (const cudaError_t status = cudaStreamSynchronize(on.one); status != cudaSuccess) {
    std::printf("peer_access: device 1's kernel on device 0's memory: %s\n",
                cudaGetErrorName(status));
    return -1;
  }
  unsigned* copy = nullptr;
  if (!ok(cudaMalloc(&copy, bytes), "cudaMalloc on device 1")) return 0;
  if (!ok(cudaMemcpyPeerAsync(copy, 1, block, 0, bytes, on.one), "cudaMemcpyPeerAsync") ||
      !ok(cudaStreamSynchronize(on.one), "cudaMemcpyPeerAsync")) {
    return 0;
  }
  std::vector<unsigned> host(words);
  if (!ok(cudaMemcpy(host.data(), copy, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy")) return 0;
  (void)cudaFree(copy);
  for (std::size_t i = 0; i < words; ++i) {
    if (host[i] != first + static_cast<unsigned>(i) + 1) {
      std::printf("peer_access: FAILED: word %zu holds %u, expected %u\n",
                  i,
                  host[i],
                  first + static_cast<unsigned>(i) + 1);
      return 0;
    }
  }
  return static_cast<long long>(words);
}

/// As NVIDIA's streamOrderedAllocationP2P: device 0's block is freed on device 1's stream while
/// a kernel there will still write it; device 0 at once allocates the same size and fills it.
/// The new block must not be memory that kernel writes later. Returns false on a mismatch.
bool free_on_other_device_stream(const streams& on, std::size_t words) {
  const std::size_t bytes = words * sizeof(unsigned);
  if (!ok(cudaSetDevice(0), "cudaSetDevice(0)")) return false;
  auto* freed = static_cast<unsigned*>(allocate(mode::mem_pool, bytes, on.zero));
  if (freed == nullptr || !ok(cudaSetDevice(1), "cudaSetDevice(1)")) return false;
  late_fill<<<64, 256, 0, on.one>>>(freed, words, 0xdeadbeefU, 200000000U);  // after 200 ms
  if (!ok(cudaFreeAsync(freed, on.one), "cudaFreeAsync on device 1's stream")) return false;
  if (!ok(cudaSetDevice(0), "cudaSetDevice(0)")) return false;
  unsigned* next = nullptr;
  if (!ok(cudaMallocAsync(&next, bytes, on.zero), "cudaMallocAsync")) return false;
  iota<<<256, 256, 0, on.zero>>>(next, words, 5);
  if (!ok(cudaStreamSynchronize(on.zero), "iota")) return false;
  if (!ok(cudaSetDevice(1), "cudaSetDevice(1)") ||
      !ok(cudaStreamSynchronize(on.one), "the late writer on device 1")) {
    return false;
  }
  if (!ok(cudaSetDevice(0), "cudaSetDevice(0)")) return false;
  std::vector<unsigned> host(words);
  if (!ok(cudaMemcpy(host.data(), next, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy")) return false;
  (void)cudaFreeAsync(next, on.zero);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < words; ++i)
    wrong += host[i] != 5 + static_cast<unsigned>(i) ? 1 : 0;
  std::printf(
      "peer_access: a block freed on device 1's stream, reused on device 0: %zu wrong "
      "words%s (%s)\n",
      wrong,
      wrong != 0 ? ": FAILED, handed out while device 1 still wrote it" : "",
      next == freed ? "same address" : "another address");
  return wrong == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mode how = mode::peer_access;
  if (argc > 1 && std::strcmp(argv[1], "--mem-pool") == 0) how = mode::mem_pool;
  if (argc > 1 && std::strcmp(argv[1], "--without-access") == 0) how = mode::without_access;
  if (argc > 1 && std::strcmp(argv[1], "--disable-after") == 0) how = mode::disable_after;
  int devices = 0;
  int reach = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices < 2 ||
      cudaDeviceCanAccessPeer(&reach, 1, 0) != cudaSuccess || reach == 0) {
    std::printf("SKIPPED: needs two GPUs, device 1 able to reach device 0\n");
    return 77;
  }
  streams on;
  if (!ok(cudaSetDevice(1), "cudaSetDevice(1)") ||
      !ok(cudaStreamCreateWithFlags(&on.one, cudaStreamNonBlocking), "cudaStreamCreate") ||
      !ok(cudaSetDevice(0), "cudaSetDevice(0)") ||
      !ok(cudaStreamCreateWithFlags(&on.zero, cudaStreamNonBlocking), "cudaStreamCreate")) {
    return 1;
  }
  constexpr std::size_t kSmall = std::size_t{1} << 20;  // words
  auto* first = static_cast<unsigned*>(allocate(how, kSmall * sizeof(unsigned), on.zero));
  if (first == nullptr) return 1;
  if (how == mode::mem_pool) {
    cudaMemPool_t pool = nullptr;
    cudaMemAccessDesc access{};
    access.location.type = cudaMemLocationTypeDevice;
    access.location.id = 1;
    access.flags = cudaMemAccessFlagsProtReadWrite;
    if (!ok(cudaDeviceGetDefaultMemPool(&pool, 0), "cudaDeviceGetDefaultMemPool") ||
        !ok(cudaMemPoolSetAccess(pool, &access, 1), "cudaMemPoolSetAccess")) {
      return 1;
    }
  } else if (how == mode::peer_access || how == mode::disable_after) {
    if (!ok(cudaSetDevice(1), "cudaSetDevice(1)") ||
        !ok(cudaDeviceEnablePeerAccess(0, 0), "cudaDeviceEnablePeerAccess")) {
      return 1;
    }
  }
  long long checked = round_trip(first, kSmall, 7, on);
  if (how == mode::without_access) {
    std::printf("peer_access: without access: %s\n", checked < 0 ? "faulted" : "reached");
    return checked == 0 ? 1 : 0;
  }
  if (checked <= 0) return 1;
  if (how == mode::disable_after) {
    if (!ok(cudaSetDevice(1), "cudaSetDevice(1)") ||
        !ok(cudaDeviceDisablePeerAccess(0), "cudaDeviceDisablePeerAccess")) {
      return 1;
    }
    const long long again = round_trip(first, kSmall, 11, on);
    std::printf("peer_access: after disabling peer access: %s\n",
                again < 0 ? "faulted" : "reached");
    return again == 0 ? 1 : 0;
  }
  // Device 0's pool grows: blocks of 256 MiB, the last one surely in memory mapped now.
  if (!ok(cudaSetDevice(0), "cudaSetDevice(0)")) return 1;
  constexpr std::size_t kLarge = std::size_t{64} << 20;  // words: 256 MiB
  std::vector<unsigned*> grown;
  for (int i = 0; i < 6; ++i) {
    auto* block = static_cast<unsigned*>(allocate(how, kLarge * sizeof(unsigned), on.zero));
    if (block == nullptr) return 1;
    grown.push_back(block);
  }
  const long long after = round_trip(grown.back(), kLarge, 1000, on);
  if (after <= 0) return 1;
  checked += after;
  if (how == mode::mem_pool && !free_on_other_device_stream(on, kSmall)) return 1;
  if (!ok(cudaSetDevice(0), "cudaSetDevice(0)")) return 1;
  for (unsigned* block : grown)
    (void)(how == mode::mem_pool ? cudaFreeAsync(block, on.zero) : cudaFree(block));
  (void)(how == mode::mem_pool ? cudaFreeAsync(first, on.zero) : cudaFree(first));
  if (!ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize")) return 1;
  std::printf("peer_access: ok: %s, %lld words checked before and after device 0's pool grew\n",
              how == mode::mem_pool ? "memory pool access" : "peer access",
              checked);
  return 0;
}
