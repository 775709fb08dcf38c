// Seed example 25: the README's logging_resource_adaptor (seed 003_f3e86e99edc59517.txt, lines
// 635-637): a logging adaptor over a cuda_memory_resource (pointer form, explicit template
// argument) writing logs/test1.csv. The test runs it in a working directory where logs/ exists.
// The seed's lines are as printed; every line that is not the seed's says `added`.
#include <string>                                       // added: the seed includes no header
#include <rmm/mr/device/cuda_memory_resource.hpp>       // added: the seed includes no header
#include <rmm/mr/device/logging_resource_adaptor.hpp>   // added: the seed includes no header

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
std::string filename{"logs/test1.csv"};
rmm::mr::cuda_memory_resource upstream;
rmm::mr::logging_resource_adaptor<rmm::mr::cuda_memory_resource> log_mr{&upstream, filename};

  // added: check: an allocation and a free through log_mr are rows of logs/test1.csv, after its
  // header Thread,Time,Action,Pointer,Size,Stream
  using namespace example_checks;
  expect(log_mr.header() == "Thread,Time,Action,Pointer,Size,Stream", "log_mr's header");
  void* ptr = log_mr.allocate(1024, rmm::cuda_stream_default);
  round_trip(ptr, 1024);
  log_mr.deallocate(ptr, 1024, rmm::cuda_stream_default);
  log_mr.flush();
  expect_csv_log(filename, {log_row_part("allocate", ptr, 1024), log_row_part("free", ptr, 1024)});
  return finish("readme_logging_adaptor");
}  // added
