// What RMM 25.10's public headers give code written for them, beyond the classes: headers that
// bring in others (RMM's own benchmarks use std::cout after <rmm/error.hpp> alone, and the
// per-device functions after the limiting adaptor's header), is_resource_adaptor,
// RMM_DEFAULT_HOST_ALIGNMENT, RMM's words in errors, the aligned adaptor passing sizes through,
// and RMM's logger (rmm::default_logger(), rapids_logger's sinks and levels, RMM_LOG_*).
// Compiled only against include/rmm/. On the simulator and on the GPU.

#include <cstddef>
#include <memory>
#include <rmm/aligned.hpp>
#include <rmm/error.hpp>
#include <rmm/logger.hpp>
#include <rmm/mr/device/aligned_resource_adaptor.hpp>
#include <rmm/mr/device/cuda_memory_resource.hpp>
#include <rmm/mr/device/limiting_resource_adaptor.hpp>
#include <rmm/mr/device/logging_resource_adaptor.hpp>
#include <rmm/mr/is_resource_adaptor.hpp>
#include <sstream>
#include <string>

namespace {

int failures = 0;

void expect(bool holds, const std::string& what) {
  if (!holds) {
    std::cout << "rmm behaviour: FAILED: " << what << '\n';  // <iostream> through rmm/error.hpp
    ++failures;
  }
}

bool contains(const char* text, const std::string& part) {
  return std::string{text}.find(part) != std::string::npos;
}

}  // namespace

static_assert(rmm::mr::is_resource_adaptor<
              rmm::mr::limiting_resource_adaptor<rmm::mr::cuda_memory_resource>>);
static_assert(!rmm::mr::is_resource_adaptor<rmm::mr::cuda_memory_resource>);
static_assert(rmm::RMM_DEFAULT_HOST_ALIGNMENT == alignof(std::max_align_t));

int main() {
  // The per-device functions come with the limiting adaptor's header, as with RMM's.
  expect(rmm::mr::get_current_device_resource() != nullptr, "a current device resource");

  try {
    RMM_EXPECTS(1 + 1 == 3, "arithmetic holds");
    expect(false, "RMM_EXPECTS threw nothing");
  } catch (const rmm::logic_error& error) {
    expect(contains(error.what(), "RMM failure at:") && contains(error.what(), "arithmetic holds"),
           std::string{"RMM_EXPECTS said: "} + error.what());
  }
  try {
    RMM_FAIL("a failure", rmm::out_of_memory);
    expect(false, "RMM_FAIL threw nothing");
  } catch (const rmm::out_of_memory& error) {
    expect(contains(error.what(), "RMM failure at:") && contains(error.what(), "out_of_memory"),
           std::string{"RMM_FAIL said: "} + error.what());
  }
  try {
    RMM_CUDA_TRY(cudaErrorInvalidValue);
    expect(false, "RMM_CUDA_TRY threw nothing");
  } catch (const rmm::cuda_error& error) {
    expect(contains(error.what(), "CUDA error at:") &&
               contains(error.what(), cudaGetErrorString(cudaErrorInvalidValue)),
           std::string{"RMM_CUDA_TRY said: "} + error.what());
  }

  // The aligned adaptor with CUDA's own alignment passes a request through unchanged: 5 bytes
  // reach the upstream as 5 (the limiting adaptor below counts what it is asked for).
  rmm::mr::cuda_memory_resource cuda;
  rmm::mr::limiting_resource_adaptor limit{&cuda, std::size_t{1} << 20, 1};
  rmm::mr::aligned_resource_adaptor aligned{&limit};
  void* five = aligned.allocate(5);
  expect(limit.get_allocated_bytes() == 5,
         "the upstream of aligned_resource_adaptor saw " +
             std::to_string(limit.get_allocated_bytes()) + " bytes for 5");
  aligned.deallocate(five, 5);

  // RMM's logger, as RMM code configures and writes it.
  std::ostringstream logged;
  auto sink = std::make_shared<rapids_logger::ostream_sink_mt>(logged);
  rmm::default_logger().sinks().push_back(sink);
  rmm::default_logger().set_level(rapids_logger::level_enum::debug);
  RMM_LOG_INFO("pool of %zu bytes", std::size_t{4096});
  RMM_LOG_DEBUG("compiled out below the active level");
  rmm::default_logger().flush();
  rmm::default_logger().sinks().pop_back();
  expect(logged.str().find("pool of 4096 bytes") != std::string::npos &&
             logged.str().find("[info") != std::string::npos,
         "RMM_LOG_INFO wrote: " + logged.str());
  expect(logged.str().find("compiled out") == std::string::npos,
         "RMM_LOG_DEBUG passed the active level (info): " + logged.str());

  // The logging adaptor over RMM's sinks: the CSV header, then a row per event.
  std::ostringstream csv;
  {
    rmm::mr::logging_resource_adaptor log{
        &cuda, std::make_shared<rapids_logger::ostream_sink_mt>(csv), true};
    void* block = log.allocate(1024);
    log.deallocate(block, 1024);
  }
  expect(csv.str().rfind("Thread,Time,Action,Pointer,Size,Stream\n", 0) == 0 &&
             csv.str().find(",allocate,") != std::string::npos &&
             csv.str().find(",free,") != std::string::npos,
         "the logging adaptor wrote to its sink: " + csv.str());

  if (failures == 0) std::cout << "rmm behaviour: ok\n";
  return failures == 0 ? 0 : 1;
}
