#pragma once
// One factory per resource or adaptor under the contract suite (test_resource_contract.cpp):
// each makes a fresh instance whose upstream, where it has one, is cudaMalloc. A factory may
// say what its resource does not do:
//   largest_request  the largest request it serves (fixed-size blocks); above it: out_of_memory
//   oversubscribes   it may hand out more than the device holds (managed memory), so the
//                    out-of-memory check does not apply (and asking would risk the machine)

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "gpumem/cuda_device.hpp"
#include "gpumem/detail/error_macros.hpp"
#include "gpumem/mr/aligned_resource_adaptor.hpp"
#include "gpumem/mr/arena_memory_resource.hpp"
#include "gpumem/mr/binning_memory_resource.hpp"
#include "gpumem/mr/callback_memory_resource.hpp"
#include "gpumem/mr/cuda_async_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/failure_callback_resource_adaptor.hpp"
#include "gpumem/mr/fixed_size_memory_resource.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"
#include "gpumem/mr/logging_resource_adaptor.hpp"
#include "gpumem/mr/managed_memory_resource.hpp"
#include "gpumem/mr/owning_wrapper.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "gpumem/mr/prefetch_resource_adaptor.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"
#include "gpumem/mr/thread_safe_resource_adaptor.hpp"
#include "gpumem/mr/tracking_resource_adaptor.hpp"
#include "scratch_folder.hpp"

namespace gpumem::test {

constexpr std::size_t kFactoryMiB = std::size_t{1} << 20;

/// The shared upstream of every factory.
inline mr::cuda_memory_resource& cuda_upstream() {
  static mr::cuda_memory_resource upstream;
  return upstream;
}

/// The defaults every factory shares.
struct factory_defaults {
  static constexpr std::size_t largest_request = SIZE_MAX;
  static constexpr bool oversubscribes = false;
};

struct cuda_factory : factory_defaults {
  static constexpr const char* name = "cuda";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::cuda_memory_resource>();
  }
};

struct cuda_async_factory : factory_defaults {
  static constexpr const char* name = "cuda_async";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::cuda_async_memory_resource>();
  }
};

struct managed_factory : factory_defaults {
  static constexpr const char* name = "managed";
  static constexpr bool oversubscribes = true;
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::managed_memory_resource>();
  }
};

struct pool_factory : factory_defaults {
  static constexpr const char* name = "pool";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::pool_memory_resource<mr::cuda_memory_resource>>(cuda_upstream(),
                                                                                32 * kFactoryMiB);
  }
};

struct arena_factory : factory_defaults {
  static constexpr const char* name = "arena";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::arena_memory_resource<mr::cuda_memory_resource>>(cuda_upstream(),
                                                                                 512 * kFactoryMiB);
  }
};

struct fixed_size_factory : factory_defaults {
  static constexpr const char* name = "fixed_size";
  static constexpr std::size_t largest_request = kFactoryMiB + 256;
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::fixed_size_memory_resource<mr::cuda_memory_resource>>(
        cuda_upstream(), largest_request, 16);
  }
};

struct binning_factory : factory_defaults {
  static constexpr const char* name = "binning";
  static std::unique_ptr<mr::device_memory_resource> make() {
    // Bins of 256 B .. 64 KiB (fixed-size blocks), larger requests from cudaMalloc.
    return std::make_unique<mr::binning_memory_resource<mr::cuda_memory_resource>>(
        cuda_upstream(), 8, 16);
  }
};

struct statistics_factory : factory_defaults {
  static constexpr const char* name = "statistics";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::statistics_resource_adaptor<mr::cuda_memory_resource>>(
        cuda_upstream());
  }
};

struct logging_factory : factory_defaults {
  static constexpr const char* name = "logging";
  static std::unique_ptr<mr::device_memory_resource> make() {
    // A file of its own for each resource, in the program's scratch folder (removed at exit).
    static std::atomic<int> made{0};
    const std::string file =
        program_scratch_folder().file("contract_log_" + std::to_string(++made) + ".csv");
    return std::make_unique<mr::logging_resource_adaptor<mr::cuda_memory_resource>>(cuda_upstream(),
                                                                                    file);
  }
};

struct tracking_factory : factory_defaults {
  static constexpr const char* name = "tracking";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::tracking_resource_adaptor<mr::cuda_memory_resource>>(
        cuda_upstream(), true);
  }
};

struct limiting_factory : factory_defaults {
  static constexpr const char* name = "limiting";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::limiting_resource_adaptor<mr::cuda_memory_resource>>(
        cuda_upstream(), available_device_memory().second);
  }
};

struct aligned_factory : factory_defaults {
  static constexpr const char* name = "aligned";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::aligned_resource_adaptor<mr::cuda_memory_resource>>(
        cuda_upstream(), 4096, 65536);
  }
};

struct failure_callback_factory : factory_defaults {
  static constexpr const char* name = "failure_callback";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::failure_callback_resource_adaptor<mr::cuda_memory_resource>>(
        cuda_upstream(), [](std::size_t, void*) { return false; }, nullptr);
  }
};

struct thread_safe_factory : factory_defaults {
  static constexpr const char* name = "thread_safe";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::thread_safe_resource_adaptor<mr::cuda_memory_resource>>(
        cuda_upstream());
  }
};

struct prefetch_factory : factory_defaults {
  static constexpr const char* name = "prefetch";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::prefetch_resource_adaptor<mr::cuda_memory_resource>>(
        cuda_upstream());
  }
};

struct owning_wrapper_factory : factory_defaults {
  static constexpr const char* name = "owning_wrapper";
  static std::unique_ptr<mr::device_memory_resource> make() {
    // The wrapper owns its upstream: the only reference to it.
    using wrapper = mr::owning_wrapper<mr::statistics_resource_adaptor<mr::cuda_memory_resource>,
                                       mr::cuda_memory_resource>;
    return std::make_unique<wrapper>(std::make_tuple(std::make_shared<mr::cuda_memory_resource>()));
  }
};

struct callback_factory : factory_defaults {
  static constexpr const char* name = "callback";
  static std::unique_ptr<mr::device_memory_resource> make() {
    return std::make_unique<mr::callback_memory_resource>(
        [](std::size_t bytes, cuda_stream_view, void*) {
          void* block = nullptr;
          GPUMEM_CUDA_TRY_ALLOC(cudaMalloc(&block, bytes), bytes);
          return block;
        },
        [](void* block, std::size_t, cuda_stream_view, void*) { (void)cudaFree(block); });
  }
};

using all_resource_factories = ::testing::Types<cuda_factory,
                                                cuda_async_factory,
                                                managed_factory,
                                                pool_factory,
                                                arena_factory,
                                                fixed_size_factory,
                                                binning_factory,
                                                statistics_factory,
                                                logging_factory,
                                                tracking_factory,
                                                limiting_factory,
                                                aligned_factory,
                                                failure_callback_factory,
                                                thread_safe_factory,
                                                prefetch_factory,
                                                owning_wrapper_factory,
                                                callback_factory>;

/// Names the typed tests after their factories.
struct factory_names {
  template <typename Factory>
  static std::string GetName(int) {
    return Factory::name;
  }
};

}  // namespace gpumem::test
