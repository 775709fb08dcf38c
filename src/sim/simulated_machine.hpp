#pragma once
// The state of the simulated CUDA machine behind the simulator's libcuda.so.1: devices with a
// memory size, primary contexts, allocations in host memory, virtual memory management
// (address reservations, physical memory as memfd files, mappings), streams, events, memory
// pools, stream capture and fault injection. Work submitted to a stream runs at once on the host,
// so every stream and event is always complete. One mutex guards all of it: the simulator
// stands in for a GPU in tests, where simplicity matters more than speed.

#include <cuda.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

/// A context: the simulator has one primary context per device and no others.
struct CUctx_st {
  int device;
  unsigned long long id = 0;  ///< cuCtxGetId: new after each reset of the primary context
};

/// A created stream (the special handles 0, CU_STREAM_LEGACY and CU_STREAM_PER_THREAD are
/// not objects).
struct CUstream_st {
  CUcontext context = nullptr;
  unsigned flags = 0;
  int priority = 0;
  CUstreamCaptureStatus capture_status = CU_STREAM_CAPTURE_STATUS_NONE;
  CUstreamCaptureMode capture_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
  std::thread::id capture_thread;
  std::uint64_t capture_id = 0;
  CUgraph capture_graph = nullptr;  ///< the program's graph the capture goes into (ToGraph)
  /// The nodes the capture recorded so far, in order (stream-ordered allocations and frees
  /// only; the simulator runs other captured work at once and records no node for it).
  std::vector<CUgraphNodeType> captured_nodes;
};

/// An event; every recorded event is complete at once.
struct CUevent_st {
  CUcontext context = nullptr;
  unsigned flags = 0;
  bool recorded = false;
  double recorded_at_ms = 0.0;
};

/// A memory pool of the stream-ordered allocator.
struct CUmemPoolHandle_st {
  int device;
  bool is_default;
  std::uint64_t max_size;
  std::uint64_t release_threshold = 0;
  int reuse_follow_event_dependencies = 1;
  int reuse_allow_opportunistic = 1;
  int reuse_allow_internal_dependencies = 1;
  std::uint64_t used = 0;
  std::uint64_t used_high = 0;
};

/// A node of a graph: only its type.
struct CUgraphNode_st {
  CUgraphNodeType type;
};

/// A graph, made by the program or by ending a capture. Its nodes are the stream-ordered
/// allocations and frees a capture recorded into it (CU_GRAPH_NODE_TYPE_MEM_ALLOC and _MEM_FREE,
/// as CUDA records them); the simulator records no other node.
struct CUgraph_st {
  std::uint64_t capture_id = 0;
  std::vector<std::unique_ptr<CUgraphNode_st>> nodes;
};

namespace gpumem::sim {

/// What kind of memory an allocation is, and so which free function accepts it.
enum class memory_kind : std::uint8_t {
  device,          ///< cuMemAlloc, cuMemAllocPitch
  managed,         ///< cuMemAllocManaged
  pinned_host,     ///< cuMemAllocHost, cuMemHostAlloc
  stream_ordered,  ///< cuMemAllocAsync, cuMemAllocFromPoolAsync
  mapped,          ///< physical memory of cuMemCreate mapped with cuMemMap (no free accepts it)
};

/// How a copy or memset uses a range of device memory: a mapping made read-only with
/// cuMemSetAccess can be read, not written.
enum class range_use : std::uint8_t {
  read,
  write,
};

/// The granularity of the virtual memory management API (cuMemGetAllocationGranularity, minimum
/// and recommended alike): sizes, offsets and mapped addresses are multiples of it, as on
/// NVIDIA's GPUs.
inline constexpr std::size_t kVirtualMemoryGranularity = std::size_t{2} << 20;

/// Physical memory made by cuMemCreate: a memfd file of `size` bytes, counted as the device's
/// memory. It lives while its handle is unreleased or any mapping of it remains, as CUDA frees
/// it only when both are gone.
struct physical_memory {
  int device;
  std::size_t size;
  int file_descriptor;            ///< the memfd holding the contents
  std::size_t mapping_count = 0;  ///< live cuMemMap mappings of it
  bool handle_released = false;   ///< cuMemRelease was called: the handle is no longer valid
};

/// A range mapped with cuMemMap: the whole of one physical memory, at a granularity-aligned
/// address inside a reservation.
struct memory_mapping {
  std::size_t size;
  CUmemGenericAllocationHandle handle;  ///< the physical memory it shows
  int device;                           ///< the physical memory's device
  /// cuMemSetAccess's flags per device; the host protection is the widest of them (every
  /// simulated device reads the same host memory). Empty: not accessible yet.
  std::map<int, CUmemAccess_flags> access_by_device;
};

/// One live allocation.
struct allocation {
  int device;
  std::size_t size;
  memory_kind kind;
  CUmemoryPool pool;
};

/// Devices and fault injection, read once from the GPUMEM_SIM_* environment variables.
struct machine_settings {
  std::vector<std::uint64_t> device_memory;  ///< one entry per device
  std::uint64_t fail_allocation_number = 0;  ///< 0: off; N: the Nth allocation fails
  std::uint64_t fail_above_bytes = 0;        ///< 0: off; else larger requests fail
  std::uint64_t hidden_bytes = 0;            ///< memory reported as used by someone else
  bool virtual_memory_supported = true;      ///< false: the VMM API answers not-supported
  std::string error;                         ///< set when a variable could not be read

  /// Reads GPUMEM_SIM_DEVICES, GPUMEM_SIM_MEMORY, GPUMEM_SIM_FAIL_ALLOCATION,
  /// GPUMEM_SIM_FAIL_ABOVE, GPUMEM_SIM_HIDE_MEMORY and GPUMEM_SIM_NO_VMM.
  static machine_settings from_environment();
};

/// The simulated machine; one per process.
class simulated_machine {
 public:
  static simulated_machine& instance();

  // --- life cycle and devices
  CUresult initialize();
  [[nodiscard]] bool initialized() const { return initialized_.load(); }
  [[nodiscard]] int device_count() const;
  [[nodiscard]] std::uint64_t total_memory(int device) const;
  [[nodiscard]] bool valid_device(int device) const;
  CUcontext primary_context(int device);
  [[nodiscard]] bool valid_context(CUcontext context) const;
  /// Frees everything that belongs to the device (cuDevicePrimaryCtxReset): its allocations,
  /// its physical memory and their mappings (the address reservations stay).
  void reset_device(int device);
  /// cuCtxGetId of a context; CUDA_ERROR_INVALID_CONTEXT for an unknown one.
  CUresult context_id(CUcontext context, unsigned long long* id);

  // --- memory
  CUresult allocate(int device, std::size_t size, memory_kind kind, CUmemoryPool pool, void** out);
  /// Frees an allocation if its kind is one of `accepted`; the base pointer is required.
  CUresult release(const void* pointer, std::initializer_list<memory_kind> accepted);
  /// The allocation that contains `pointer`, with its base address; for mapped memory, the
  /// cuMemMap mapping (kind memory_kind::mapped, accessible or not).
  std::optional<std::pair<std::uintptr_t, allocation>> find(const void* pointer) const;
  /// Whether [pointer, pointer + size) lies inside one allocation, or inside mappings that
  /// follow each other without a gap and whose access (cuMemSetAccess) permits `use`.
  [[nodiscard]] bool covers(const void* pointer, std::size_t size, range_use use) const;
  CUresult memory_info(int device, std::size_t* free_bytes, std::size_t* total_bytes) const;

  // --- virtual memory management (cuMemAddressReserve, cuMemCreate, cuMemMap, ...); the
  // callers check arguments that need no state (null pointers, flags, granularity multiples).
  /// False when GPUMEM_SIM_NO_VMM=1: the API then answers CUDA_ERROR_NOT_SUPPORTED.
  [[nodiscard]] bool virtual_memory_supported() const { return settings_.virtual_memory_supported; }
  /// Reserves `size` bytes of inaccessible host address space, aligned to `alignment` (at
  /// least the granularity); placed at `hint` where that is free and aligned.
  CUresult reserve_address_range(std::size_t size,
                                 std::size_t alignment,
                                 std::uintptr_t hint,
                                 std::uintptr_t* base);
  /// Frees a whole reservation; CUDA_ERROR_INVALID_VALUE unless `base` and `size` are exactly
  /// one reservation's, or while any of it is mapped (as NVIDIA's driver refuses).
  CUresult free_address_range(std::uintptr_t base, std::size_t size);
  /// Makes physical memory on a device (cuMemCreate): counted as the device's memory, subject
  /// to the injected failures like any allocation.
  CUresult create_physical_memory(int device, std::size_t size, CUmemGenericAllocationHandle* out);
  /// Releases a handle (cuMemRelease); the memory goes once its last mapping is unmapped.
  CUresult release_physical_memory(CUmemGenericAllocationHandle handle);
  /// Maps the whole of a handle's memory at `address` (cuMemMap), inaccessible until
  /// set_access. CUDA_ERROR_NOT_SUPPORTED for a part of it (offset or size), as NVIDIA's driver
  /// answers; CUDA_ERROR_INVALID_VALUE for an unknown or released handle, a range outside one
  /// reservation or one that overlaps a mapping.
  CUresult map_physical_memory(std::uintptr_t address,
                               std::size_t size,
                               std::size_t offset,
                               CUmemGenericAllocationHandle handle);
  /// Unmaps [address, address + size), which must be whole mappings that follow each other
  /// (cuMemUnmap); the address space stays reserved and inaccessible.
  CUresult unmap_range(std::uintptr_t address, std::size_t size);
  /// Sets one device's access to [address, address + size), which must be whole mappings that
  /// follow each other (cuMemSetAccess).
  CUresult set_access(std::uintptr_t address,
                      std::size_t size,
                      int device,
                      CUmemAccess_flags access);
  /// The access `device` has to the mapping that holds `address` (cuMemGetAccess);
  /// CUDA_ERROR_INVALID_VALUE when no mapping does.
  CUresult access_of(std::uintptr_t address, int device, CUmemAccess_flags* access) const;
  /// The reservation that contains `pointer`: its base address and size.
  [[nodiscard]] std::optional<std::pair<std::uintptr_t, std::size_t>> reservation_containing(
      const void* pointer) const;

  // --- streams, events, pools, graphs
  CUresult create_stream(CUcontext context, unsigned flags, int priority, CUstream* out);
  CUresult destroy_stream(CUstream stream);
  /// Whether the handle is a created stream or one of the special handles.
  [[nodiscard]] bool valid_stream(CUstream stream) const;
  /// The created stream behind a handle, or null for the special handles.
  [[nodiscard]] CUstream_st* stream_object(CUstream stream) const;
  /// The capture status and id of a stream (none for the special handles).
  void capture_state(CUstream stream, CUstreamCaptureStatus* status, std::uint64_t* id) const;
  /// Synchronizing a capturing stream is illegal: invalidates its capture and returns
  /// CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED; CUDA_SUCCESS when it is not capturing.
  CUresult check_synchronize(CUstream stream);
  /// Starts capturing `stream`, into the program's `into` graph when given (ending the capture
  /// then hands that graph back), else into a new one.
  CUresult begin_capture(CUstream stream, CUstreamCaptureMode mode, CUgraph into = nullptr);
  CUresult end_capture(CUstream stream, CUgraph* graph);
  /// An empty graph of the program's (cuGraphCreate).
  CUresult create_graph(CUgraph* graph);
  CUresult destroy_graph(CUgraph graph);
  /// Records a node of `type` in the capture `stream` runs, if it captures (a stream-ordered
  /// allocation or free made on it).
  void record_if_capturing(CUstream stream, CUgraphNodeType type);
  /// cuGraphGetNodes: the graph's nodes (up to `*count` of them into `nodes` when it is not
  /// null), and in `*count` how many it has (when `nodes` is null) or were written.
  CUresult graph_nodes(CUgraph graph, CUgraphNode* nodes, std::size_t* count) const;
  /// cuGraphNodeGetType of a node of one of the machine's graphs.
  CUresult graph_node_type(CUgraphNode node, CUgraphNodeType* type) const;
  /// The result of a call that is not allowed while a stream captures in a mode that forbids
  /// it (cuMemAlloc, cuMemFree, cuCtxSynchronize, ...): CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
  /// and the capture is invalidated, as CUDA does; CUDA_SUCCESS when nothing forbids the call.
  CUresult check_unsafe_call_during_capture(bool synchronizes);
  /// cuThreadExchangeStreamCaptureMode: the calling thread's mode becomes `*mode`, which gets
  /// the one before. A thread in relaxed mode may make unsafe calls while others capture (a
  /// device synchronization still breaks their captures).
  static void exchange_thread_capture_mode(CUstreamCaptureMode* mode) noexcept;
  CUresult create_event(CUcontext context, unsigned flags, CUevent* out);
  CUresult destroy_event(CUevent event);
  [[nodiscard]] bool valid_event(CUevent event) const;
  CUresult create_pool(int device, std::uint64_t max_size, CUmemoryPool* out);
  CUresult destroy_pool(CUmemoryPool pool);
  [[nodiscard]] bool valid_pool(CUmemoryPool pool) const;
  CUmemoryPool default_pool(int device);
  /// The device's default pool of managed memory (CUDA 13's cuMemGetDefaultMemPool).
  CUmemoryPool default_managed_pool(int device);
  CUmemoryPool current_pool(int device);
  CUresult set_current_pool(int device, CUmemoryPool pool);

  // --- observation and fault injection for tests (the gpumemSim* C functions)
  /// Allocations not yet freed, cuMemCreate's physical memory included until it is freed.
  [[nodiscard]] std::size_t outstanding_allocations(int device) const;
  [[nodiscard]] std::uint64_t bytes_in_use(int device) const;
  void count_call(const char* name);
  [[nodiscard]] std::uint64_t call_count(const std::string& name) const;
  void reset_call_counts();
  void fail_allocation_number(std::uint64_t n);
  void fail_above(std::uint64_t bytes);
  void hide_memory(std::uint64_t bytes);
  [[nodiscard]] std::uint64_t hidden_memory() const;

  /// The guard that protects every object above; public so callers can read stream and pool
  /// fields consistently.
  std::mutex& mutex() const { return mutex_; }

 private:
  simulated_machine();
  CUresult injected_failure(std::size_t size);
  /// The allocation (not mapping) that contains `address`; mutex_ held.
  [[nodiscard]] std::map<std::uintptr_t, allocation>::const_iterator allocation_containing(
      std::uintptr_t address) const;
  /// The mapping that contains `address`; mutex_ held.
  [[nodiscard]] std::map<std::uintptr_t, memory_mapping>::iterator mapping_containing(
      std::uintptr_t address);
  [[nodiscard]] std::map<std::uintptr_t, memory_mapping>::const_iterator mapping_containing(
      std::uintptr_t address) const;
  /// The mappings that make up exactly [address, address + size), in address order, or none
  /// when the range is not whole mappings without a gap; mutex_ held.
  std::vector<std::map<std::uintptr_t, memory_mapping>::iterator> whole_mappings(
      std::uintptr_t address, std::size_t size);
  /// Removes a mapping and puts inaccessible reserved address space back; mutex_ held.
  void remove_mapping(std::map<std::uintptr_t, memory_mapping>::iterator mapping);
  /// A new graph of the machine's, made by the program (capture id 0) or by ending a capture;
  /// mutex_ held.
  CUgraph new_graph(std::uint64_t capture_id);
  /// Frees physical memory (closes its file, returns its bytes to the device); mutex_ held.
  void free_physical_memory(
      std::unordered_map<CUmemGenericAllocationHandle, physical_memory>::iterator memory);

  struct device_state {
    std::uint64_t total;
    std::uint64_t used = 0;
    std::unique_ptr<CUctx_st> context;
    std::unique_ptr<CUmemPoolHandle_st> default_pool;
    std::unique_ptr<CUmemPoolHandle_st> default_managed_pool;  ///< cuMemGetDefaultMemPool's
    CUmemoryPool current_pool = nullptr;
  };

  mutable std::mutex mutex_;
  machine_settings settings_;
  std::atomic<bool> initialized_{false};
  std::vector<device_state> devices_;
  std::map<std::uintptr_t, allocation> allocations_;    // by base address
  std::map<std::uintptr_t, std::size_t> reservations_;  // cuMemAddressReserve: size by base
  std::map<std::uintptr_t, memory_mapping> mappings_;   // cuMemMap, by base address
  std::unordered_map<CUmemGenericAllocationHandle, physical_memory> physical_memory_;
  CUmemGenericAllocationHandle next_physical_handle_ = 1;
  std::unordered_map<CUstream, std::unique_ptr<CUstream_st>> streams_;
  std::unordered_map<CUevent, std::unique_ptr<CUevent_st>> events_;
  std::unordered_map<CUmemoryPool, std::unique_ptr<CUmemPoolHandle_st>> pools_;
  std::unordered_map<CUgraph, std::unique_ptr<CUgraph_st>> graphs_;
  std::unordered_map<std::string, std::uint64_t> call_counts_;
  std::uint64_t allocation_calls_ = 0;
  std::uint64_t next_capture_id_ = 1;
};

/// Milliseconds since the simulator started, for event timing.
double now_ms();

}  // namespace gpumem::sim
