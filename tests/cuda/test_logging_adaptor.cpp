// logging_resource_adaptor: the CSV it writes is RMM's, row for row, on the simulator and on
// the GPU. The expected pointer and stream fields are made the way RMM makes them (printf's %p,
// and an ostream writing the stream handle in hex), independently of the adaptor's formatting.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adaptor_test_resources.hpp"
#include "cuda_platform.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/logging_resource_adaptor.hpp"

namespace {

using gpumem::mr::cuda_memory_resource;
using gpumem::mr::logging_resource_adaptor;

constexpr const char* header_line = "Thread,Time,Action,Pointer,Size,Stream";

/// Sets (or unsets, with nullopt) an environment variable for a scope.
class scoped_environment {
 public:
  scoped_environment(const char* name, std::optional<std::string> value) : name_{name} {
    if (const char* old = std::getenv(name); old != nullptr) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~scoped_environment() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  scoped_environment(const scoped_environment&) = delete;
  scoped_environment& operator=(const scoped_environment&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string temporary_path(const std::string& name) {
  return ::testing::TempDir() + "gpumem_logging_" + name + "_" + std::to_string(::getpid()) +
         ".csv";
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream file{path};
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);)
    lines.push_back(line);
  return lines;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::istringstream input{text};
  std::vector<std::string> lines;
  for (std::string line; std::getline(input, line);)
    lines.push_back(line);
  return lines;
}

struct row {
  std::string thread, time, action, pointer, size, stream;
};

row parse_row(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream input{line};
  while (std::getline(input, field, ','))
    fields.push_back(field);
  if (fields.size() != 6) throw std::runtime_error("not six fields: " + line);
  return row{fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]};
}

/// What RMM's printf("%p") writes for a pointer.
std::string printf_pointer(const void* ptr) {
  char text[32];
  std::snprintf(text, sizeof text, "%p", ptr);
  return text;
}

/// What RMM's format_stream writes: the handle through an ostream in hex.
std::string ostream_stream(cudaStream_t stream) {
  std::ostringstream out;
  out << std::hex << static_cast<const void*>(stream);
  return out.str();
}

std::string this_thread_id() {
  return std::to_string(::syscall(SYS_gettid));
}

/// RMM's log parser reads the pointer as hex, or "(nil)" as 0.
std::uintptr_t rmm_parse_pointer(const std::string& field) {
  return field == "(nil)" ? 0 : static_cast<std::uintptr_t>(std::stoull(field, nullptr, 16));
}

void expect_time_of_day(const std::string& time) {
  static const std::regex pattern{R"(^(\d\d):(\d\d):(\d\d)\.(\d{6})$)"};
  std::smatch match;
  ASSERT_TRUE(std::regex_match(time, match, pattern)) << time;
  EXPECT_LT(std::stoi(match[1]), 24) << time;
  EXPECT_LT(std::stoi(match[2]), 60) << time;
  EXPECT_LT(std::stoi(match[3]), 61) << time;
}

int local_hour_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  return local.tm_hour;
}

TEST(LoggingAdaptor, WritesRmmRowsForAllocationsAndFrees) {
  const std::string path = temporary_path("rows");
  cuda_memory_resource cuda_mr;
  cudaStream_t stream{};
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  {
    logging_resource_adaptor<cuda_memory_resource> log_mr{&cuda_mr, path};
    void* first = log_mr.allocate(1000);
    void* second = log_mr.allocate(2000, gpumem::cuda_stream_view{stream});
    log_mr.deallocate(first, 1000);
    log_mr.deallocate(second, 2000, gpumem::cuda_stream_view{stream});
    log_mr.flush();

    const auto lines = read_lines(path);
    ASSERT_EQ(lines.size(), 5U);
    EXPECT_EQ(lines[0], header_line);
    const struct {
      const char* action;
      void* ptr;
      std::size_t size;
      cudaStream_t stream;
    } expected[] = {{"allocate", first, 1000, nullptr},
                    {"allocate", second, 2000, stream},
                    {"free", first, 1000, nullptr},
                    {"free", second, 2000, stream}};
    for (std::size_t index = 0; index < 4; ++index) {
      SCOPED_TRACE(lines[index + 1]);
      const row parsed = parse_row(lines[index + 1]);
      EXPECT_EQ(parsed.thread, this_thread_id());
      expect_time_of_day(parsed.time);
      EXPECT_EQ(parsed.action, expected[index].action);
      EXPECT_EQ(parsed.pointer, printf_pointer(expected[index].ptr));
      EXPECT_EQ(rmm_parse_pointer(parsed.pointer),
                reinterpret_cast<std::uintptr_t>(expected[index].ptr));
      EXPECT_EQ(parsed.size, std::to_string(expected[index].size));
      EXPECT_EQ(parsed.stream, ostream_stream(expected[index].stream));
    }
    EXPECT_EQ(parse_row(lines[1]).stream, "0");  // RMM writes the default stream as 0
    EXPECT_EQ(parse_row(lines[2]).stream.rfind("0x", 0), 0U);
  }
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  std::remove(path.c_str());
}

TEST(LoggingAdaptor, FailedAllocationWritesAFailureRowAndRethrows) {
  cuda_memory_resource cuda_mr;
  std::ostringstream out;
  logging_resource_adaptor log_mr{cuda_mr, out};
  EXPECT_THROW((void)log_mr.allocate(gpumem::test::more_than_any_device), gpumem::out_of_memory);
  log_mr.flush();
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 2U);
  const row parsed = parse_row(lines[1]);
  EXPECT_EQ(parsed.action, "allocate failure");
  EXPECT_EQ(parsed.pointer, printf_pointer(nullptr));  // "(nil)", as RMM's printf writes it
  EXPECT_EQ(rmm_parse_pointer(parsed.pointer), 0U);
  EXPECT_EQ(parsed.size, std::to_string(gpumem::test::more_than_any_device));
  EXPECT_EQ(parsed.stream, "0");
}

TEST(LoggingAdaptor, InjectedOutOfMemoryWritesAFailureRow) {
  GPUMEM_REQUIRE_SIMULATOR();
  cuda_memory_resource cuda_mr;
  std::ostringstream out;
  logging_resource_adaptor log_mr{cuda_mr, out, true};
  gpumem::test::simulator::fail_allocation(1);
  EXPECT_THROW((void)log_mr.allocate(512), gpumem::out_of_memory);
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(parse_row(lines[1]).action, "allocate failure");
  EXPECT_EQ(parse_row(lines[1]).size, "512");
}

TEST(LoggingAdaptor, TimeIsTheLocalTimeOfDay) {
  cuda_memory_resource cuda_mr;
  std::ostringstream out;
  logging_resource_adaptor log_mr{cuda_mr, out};
  const int hour_before = local_hour_now();
  void* ptr = log_mr.allocate(256);
  const int hour_after = local_hour_now();
  log_mr.deallocate(ptr, 256);
  log_mr.flush();
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 3U);
  const row parsed = parse_row(lines[1]);
  expect_time_of_day(parsed.time);
  const int hour = std::stoi(parsed.time.substr(0, 2));
  EXPECT_TRUE(hour == hour_before || hour == hour_after) << parsed.time;
}

TEST(LoggingAdaptor, RowsNameTheThreadThatAllocated) {
  cuda_memory_resource cuda_mr;
  std::ostringstream out;
  logging_resource_adaptor log_mr{&cuda_mr, out};
  std::string other_thread_id;
  std::thread other{[&] {
    other_thread_id = this_thread_id();
    void* ptr = log_mr.allocate(300);
    log_mr.deallocate(ptr, 300);
  }};
  other.join();
  void* ptr = log_mr.allocate(400);
  log_mr.deallocate(ptr, 400);
  log_mr.flush();
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 5U);
  EXPECT_EQ(parse_row(lines[1]).thread, other_thread_id);
  EXPECT_EQ(parse_row(lines[2]).thread, other_thread_id);
  EXPECT_EQ(parse_row(lines[3]).thread, this_thread_id());
  EXPECT_NE(other_thread_id, this_thread_id());
}

TEST(LoggingAdaptor, ConcurrentThreadsWriteWholeRows) {
  cuda_memory_resource cuda_mr;
  std::ostringstream out;
  logging_resource_adaptor log_mr{cuda_mr, out};
  constexpr int threads = 4;
  constexpr int rounds = 200;
  std::vector<std::thread> workers;
  for (int thread = 0; thread < threads; ++thread) {
    workers.emplace_back([&] {
      for (int round = 0; round < rounds; ++round) {
        void* ptr = log_mr.allocate(256);
        log_mr.deallocate(ptr, 256);
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  log_mr.flush();
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 1U + threads * rounds * 2);
  std::map<std::string, int> rows_per_thread;
  for (std::size_t index = 1; index < lines.size(); ++index) {
    const row parsed = parse_row(lines[index]);
    ASSERT_TRUE(parsed.action == "allocate" || parsed.action == "free") << lines[index];
    ++rows_per_thread[parsed.thread];
  }
  ASSERT_EQ(rows_per_thread.size(), static_cast<std::size_t>(threads));
  for (const auto& [thread, count] : rows_per_thread)
    EXPECT_EQ(count, rounds * 2) << thread;
}

TEST(LoggingAdaptor, StreamIsWrittenOnlyOnFlushWithoutAutoFlush) {
  cuda_memory_resource cuda_mr;
  std::ostringstream out;
  logging_resource_adaptor log_mr{cuda_mr, out, false};
  void* ptr = log_mr.allocate(256);
  EXPECT_EQ(out.str(), "");
  log_mr.flush();
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0], header_line);
  EXPECT_EQ(parse_row(lines[1]).pointer, printf_pointer(ptr));
  log_mr.deallocate(ptr, 256);
}

TEST(LoggingAdaptor, AutoFlushWritesEachRowAtOnce) {
  cuda_memory_resource cuda_mr;
  std::ostringstream out;
  logging_resource_adaptor log_mr{cuda_mr, out, true};
  EXPECT_EQ(split_lines(out.str()).size(), 1U);  // the header
  void* ptr = log_mr.allocate(256);
  EXPECT_EQ(split_lines(out.str()).size(), 2U);
  log_mr.deallocate(ptr, 256);
  EXPECT_EQ(split_lines(out.str()).size(), 3U);

  const std::string path = temporary_path("auto_flush");
  logging_resource_adaptor file_log{cuda_mr, path, true};
  void* other = file_log.allocate(512);
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(parse_row(lines[1]).pointer, printf_pointer(other));
  file_log.deallocate(other, 512);
  std::remove(path.c_str());
}

TEST(LoggingAdaptor, DestructionWritesWhatIsBuffered) {
  const std::string path = temporary_path("destruction");
  cuda_memory_resource cuda_mr;
  {
    logging_resource_adaptor log_mr{&cuda_mr, path};
    void* ptr = log_mr.allocate(256);
    log_mr.deallocate(ptr, 256);
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(parse_row(lines[1]).action, "allocate");
  EXPECT_EQ(parse_row(lines[2]).action, "free");
  std::remove(path.c_str());
}

TEST(LoggingAdaptor, ManyRowsSurviveSeveralBufferWrites) {
  const std::string path = temporary_path("many");
  gpumem::test::recording_host_resource upstream;
  constexpr int events = 3000;  // far more than one buffer of rows
  {
    logging_resource_adaptor log_mr{upstream, path};
    for (int event = 0; event < events; ++event) {
      const std::size_t bytes = 256 + static_cast<std::size_t>(event);
      void* ptr = log_mr.allocate(bytes);
      log_mr.deallocate(ptr, bytes);
    }
  }
  const auto allocations = upstream.allocations();
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1U + 2 * events);
  for (int event = 0; event < events; ++event) {
    const row allocated = parse_row(lines[1 + 2 * event]);
    const row freed = parse_row(lines[2 + 2 * event]);
    ASSERT_EQ(allocated.action, "allocate");
    ASSERT_EQ(freed.action, "free");
    ASSERT_EQ(allocated.size, std::to_string(256 + event));
    ASSERT_EQ(allocated.pointer, printf_pointer(allocations[static_cast<std::size_t>(event)].ptr));
    ASSERT_EQ(freed.pointer, allocated.pointer);
  }
  std::remove(path.c_str());
}

TEST(LoggingAdaptor, FileIsTruncatedWhenOpened) {
  const std::string path = temporary_path("truncated");
  {
    std::ofstream old{path};
    old << "old contents\nmore old contents\n";
  }
  cuda_memory_resource cuda_mr;
  { logging_resource_adaptor log_mr{cuda_mr, path}; }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0], header_line);
  std::remove(path.c_str());
}

TEST(LoggingAdaptor, HeaderIsRmms) {
  cuda_memory_resource cuda_mr;
  std::ostringstream out;
  logging_resource_adaptor log_mr{cuda_mr, out};
  EXPECT_EQ(log_mr.header(), header_line);
}

TEST(LoggingAdaptor, DefaultFileNameComesFromGpumemLogFile) {
  const std::string path = temporary_path("gpumem_variable");
  scoped_environment gpumem_variable{"GPUMEM_LOG_FILE", path};
  scoped_environment rmm_variable{"RMM_LOG_FILE", std::nullopt};
  EXPECT_EQ(logging_resource_adaptor<cuda_memory_resource>::get_default_filename(), path);
  cuda_memory_resource cuda_mr;
  {
    logging_resource_adaptor log_mr{cuda_mr};
    void* ptr = log_mr.allocate(256);
    log_mr.deallocate(ptr, 256);
  }
  EXPECT_EQ(read_lines(path).size(), 3U);
  std::remove(path.c_str());
}

TEST(LoggingAdaptor, DefaultFileNameFallsBackToRmmLogFile) {
  const std::string path = temporary_path("rmm_variable");
  scoped_environment gpumem_variable{"GPUMEM_LOG_FILE", std::nullopt};
  scoped_environment rmm_variable{"RMM_LOG_FILE", path};
  EXPECT_EQ(logging_resource_adaptor<cuda_memory_resource>::get_default_filename(), path);
  cuda_memory_resource cuda_mr;
  { logging_resource_adaptor<cuda_memory_resource> log_mr{&cuda_mr}; }
  EXPECT_EQ(read_lines(path), std::vector<std::string>{header_line});
  std::remove(path.c_str());
}

TEST(LoggingAdaptor, GpumemLogFileWinsOverRmmLogFile) {
  scoped_environment gpumem_variable{"GPUMEM_LOG_FILE", std::string{"gpumem.csv"}};
  scoped_environment rmm_variable{"RMM_LOG_FILE", std::string{"rmm.csv"}};
  EXPECT_EQ(logging_resource_adaptor<cuda_memory_resource>::get_default_filename(), "gpumem.csv");
}

TEST(LoggingAdaptor, NoFileNameAndNoVariableThrowsNamingBothVariables) {
  scoped_environment gpumem_variable{"GPUMEM_LOG_FILE", std::nullopt};
  scoped_environment rmm_variable{"RMM_LOG_FILE", std::nullopt};
  cuda_memory_resource cuda_mr;
  try {
    logging_resource_adaptor log_mr{cuda_mr};
    FAIL() << "constructed without a file name";
  } catch (const gpumem::logic_error& error) {
    EXPECT_NE(std::string{error.what()}.find("GPUMEM_LOG_FILE"), std::string::npos) << error.what();
    EXPECT_NE(std::string{error.what()}.find("RMM_LOG_FILE"), std::string::npos) << error.what();
  }
  EXPECT_THROW((void)logging_resource_adaptor<cuda_memory_resource>::get_default_filename(),
               gpumem::logic_error);
}

TEST(LoggingAdaptor, UnopenableFileThrowsNamingTheFileAndTheReason) {
  const std::string path = ::testing::TempDir() + "gpumem_no_such_directory/log.csv";
  cuda_memory_resource cuda_mr;
  try {
    logging_resource_adaptor log_mr{cuda_mr, path};
    FAIL() << "opened " << path;
  } catch (const gpumem::logic_error& error) {
    EXPECT_NE(std::string{error.what()}.find(path), std::string::npos) << error.what();
    EXPECT_NE(std::string{error.what()}.find(std::strerror(ENOENT)), std::string::npos)
        << error.what();
  }
}

}  // namespace
