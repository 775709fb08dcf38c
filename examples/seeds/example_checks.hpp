#pragma once
// The checks the seed examples run after the seed's own code. None of this is in the seeds: it
// turns each example into a test. A failed check prints "FAILED: <what>"; finish() prints
// "<name>: ok" as the program's last line only when no check failed, and returns the exit code.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace example_checks {

/// The number of failed checks so far.
inline int& failure_count() {
  static int count = 0;
  return count;
}

/// Prints "FAILED: <what>" unless `condition` holds; returns `condition`.
inline bool expect(bool condition, const std::string& what) {
  if (!condition) {
    std::printf("FAILED: %s\n", what.c_str());
    ++failure_count();
  }
  return condition;
}

/// Expects `status` to be cudaSuccess; the message names the call and the error.
inline bool expect_cuda(cudaError_t status, const std::string& call) {
  return expect(status == cudaSuccess, call + " returned " + cudaGetErrorName(status));
}

/// Copies a byte pattern that differs from byte to byte into `bytes` bytes at `device` and reads
/// it back, both on `stream`: the memory is real device-accessible memory of at least that size.
inline bool round_trip(void* device, std::size_t bytes, cudaStream_t stream = nullptr) {
  std::vector<unsigned char> written(bytes);
  for (std::size_t i = 0; i < bytes; ++i) written[i] = static_cast<unsigned char>(i * 131 + 7);
  std::vector<unsigned char> read(bytes, 0);
  bool ok = expect_cuda(cudaMemcpyAsync(device, written.data(), bytes, cudaMemcpyDefault, stream),
                        "cudaMemcpyAsync to the device");
  ok = ok && expect_cuda(cudaMemcpyAsync(read.data(), device, bytes, cudaMemcpyDefault, stream),
                         "cudaMemcpyAsync from the device");
  ok = ok && expect_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return ok && expect(read == written, "the bytes read back from the allocation are the ones written");
}

/// Copies `count` elements of type T from device memory to a host vector (synchronously).
template <typename T>
std::vector<T> to_host(const T* device, std::size_t count) {
  std::vector<T> host(count);
  expect_cuda(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDefault),
              "cudaMemcpy to the host");
  return host;
}

/// What CUDA knows about a pointer (its memory type and device).
inline cudaPointerAttributes attributes_of(const void* ptr) {
  cudaPointerAttributes attributes{};
  expect_cuda(cudaPointerGetAttributes(&attributes, ptr), "cudaPointerGetAttributes");
  return attributes;
}

/// Whether `ptr` is device memory (not managed, not host) of device `device`.
inline bool is_device_memory_of(const void* ptr, int device) {
  const auto attributes = attributes_of(ptr);
  return attributes.type == cudaMemoryTypeDevice && attributes.device == device;
}

/// The device current now.
inline int current_device() {
  int device = -1;
  expect_cuda(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

/// The lines of a text file (none when it cannot be read).
inline std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream file{path};
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

/// The row a logging_resource_adaptor writes for one event, without its Thread and Time
/// columns: ",<action>,<pointer as %p>,<bytes>,".
inline std::string log_row_part(const char* action, const void* ptr, std::size_t bytes) {
  char row[128];
  std::snprintf(row, sizeof(row), ",%s,%p,%zu,", action, ptr, bytes);
  return row;
}

/// Whether some line of `lines` contains `part`.
inline bool has_line_containing(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& line : lines) {
    if (line.find(part) != std::string::npos) return true;
  }
  return false;
}

/// Checks a logging_resource_adaptor's CSV file: the header line first, then a row for each of
/// `rows` (see log_row_part).
inline void expect_csv_log(const std::string& path, const std::vector<std::string>& rows) {
  const auto lines = lines_of(path);
  if (!expect(!lines.empty(), path + " exists and is not empty")) return;
  expect(lines.front() == "Thread,Time,Action,Pointer,Size,Stream",
         path + " starts with the header Thread,Time,Action,Pointer,Size,Stream (found '" + lines.front() + "')");
  for (const auto& row : rows) expect(has_line_containing(lines, row), path + " has a row with '" + row + "'");
}

/// Prints "<name>: ok" when no check failed; returns the program's exit code.
inline int finish(const char* name) {
  if (failure_count() != 0) {
    std::printf("FAILED: %s: %d check(s) failed\n", name, failure_count());
    return 1;
  }
  std::printf("%s: ok\n", name);
  return 0;
}

}  // namespace example_checks
