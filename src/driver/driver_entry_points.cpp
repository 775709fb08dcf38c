#include "driver_entry_points.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <string>
#include <vector>

namespace gpumem::driver {
namespace {

// The ABI of every entry point in the table is the one cuda.h declares without a version
// suffix macro, as of CUDA 12.8. CUDA 13.0 added new ABIs under old names (cuCtxGetDevice_v2
// and cuCtxSynchronize_v2 take a context): asking for 13000 would hand those out.
constexpr int kRuntimeCudaVersion = 12080;
// Entry points CUDA 13.0 introduced (cuMemGetDefaultMemPool) have that one ABI: asked for at
// 13000 when 12080 does not know them.
constexpr int kNewestCudaVersion = 13000;

enum class need { required, optional };

class entry_point_resolver {
 public:
  entry_point_resolver(decltype(&::cuGetProcAddress) get_proc_address,
                       cuuint64_t flags,
                       std::vector<std::string>& missing)
      : get_proc_address_(get_proc_address), flags_(flags), missing_(missing) {}

  template <typename Function>
  void operator()(Function& slot, const char* name, need how) {
    void* function = find(name, kRuntimeCudaVersion);
    if (function == nullptr) function = find(name, kNewestCudaVersion);
    if (function == nullptr) {
      const std::string entry = std::string{name} + (how == need::required ? " (required)" : "");
      if (std::find(missing_.begin(), missing_.end(), entry) == missing_.end())
        missing_.push_back(entry);
      if (how == need::required) complete_ = false;
      return;
    }
    slot = reinterpret_cast<Function>(function);
  }

  [[nodiscard]] bool complete() const { return complete_; }

 private:
  /// The entry point `name` of CUDA `version`'s ABI, or nullptr.
  void* find(const char* name, int version) const {
    void* function = nullptr;
    CUdriverProcAddressQueryResult status{};
    if (get_proc_address_(name, &function, version, flags_, &status) != CUDA_SUCCESS)
      return nullptr;
    return function;
  }

  decltype(&::cuGetProcAddress) get_proc_address_;
  cuuint64_t flags_;
  std::vector<std::string>& missing_;
  bool complete_ = true;
};

bool resolve(driver_entry_points& table,
             decltype(&::cuGetProcAddress) get_proc_address,
             cuuint64_t flags,
             std::vector<std::string>& missing) {
  entry_point_resolver resolve{get_proc_address, flags, missing};
  table.get_proc_address = get_proc_address;
#define GPUMEM_RESOLVE_ENTRY_POINT(member, function, how) \
  resolve(table.member, #function, need::how);
  GPUMEM_DRIVER_ENTRY_POINTS(GPUMEM_RESOLVE_ENTRY_POINT)
#undef GPUMEM_RESOLVE_ENTRY_POINT
  return resolve.complete();
}

}  // namespace

driver_library load_driver_library(symbol_lookup lookup) {
  driver_library library;
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) return library;
  if (lookup == nullptr) lookup = &dlsym;
  auto* entry =
      reinterpret_cast<decltype(&::cuGetProcAddress)>(lookup(handle, "cuGetProcAddress_v2"));
  if (entry == nullptr) return library;
  // Like NVIDIA's runtime, use the cuGetProcAddress that cuGetProcAddress itself returns.
  void* self = nullptr;
  if (entry("cuGetProcAddress", &self, kRuntimeCudaVersion, CU_GET_PROC_ADDRESS_DEFAULT, nullptr) !=
          CUDA_SUCCESS ||
      self == nullptr) {
    return library;
  }
  auto* get_proc_address = reinterpret_cast<decltype(&::cuGetProcAddress)>(self);
  const bool legacy =
      resolve(library.legacy, get_proc_address, CU_GET_PROC_ADDRESS_LEGACY_STREAM, library.missing);
  const bool per_thread = resolve(library.per_thread,
                                  get_proc_address,
                                  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
                                  library.missing);
  library.loaded = legacy && per_thread;
  // Required ones first, so the first name says why the table is unusable.
  std::stable_partition(library.missing.begin(),
                        library.missing.end(),
                        [](const std::string& name) { return name.ends_with(" (required)"); });
  return library;
}

}  // namespace gpumem::driver
