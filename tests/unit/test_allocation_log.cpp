// Reading allocation logs (the logging layer's CSV, RMM's format) for gpumem replay: the events
// replay acts on, what it skips, the peak bytes requested, and a clear error naming the line.

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "cli/allocation_log.hpp"

namespace {

using gpumem::cli::read_allocation_log;

constexpr const char* kHeader = "Thread,Time,Action,Pointer,Size,Stream\n";

gpumem::cli::allocation_log read(const std::string& text) {
  std::istringstream in{text};
  return read_allocation_log(in, "log.csv");
}

std::string error_of(const std::string& text) {
  try {
    (void)read(text);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "no error";
}

TEST(AllocationLog, ReadsEventsStreamsThreadsAndThePeakRequested) {
  const auto log = read(std::string{kHeader} +
                        "7,12:00:00.000001,allocate,0x7f0000000000,1000,0\n"
                        "7,12:00:00.000002,allocate,0x7f0000100000,3000,0x5a\n"
                        "9,12:00:00.000003,free,0x7f0000000000,1000,0\n"
                        "9,12:00:00.000004,allocate,0x7f0000000000,500,0x5a\n"
                        "9,12:00:00.000005,allocate failure,(nil),99999999,0\n"
                        "9,12:00:00.000006,allocate,(nil),0,0\n");
  ASSERT_EQ(log.events.size(), 4U);
  EXPECT_TRUE(log.events[0].allocate);
  EXPECT_EQ(log.events[0].thread, 7U);
  EXPECT_EQ(log.events[0].pointer, 0x7f0000000000U);
  EXPECT_EQ(log.events[1].stream, 0x5aU);
  EXPECT_FALSE(log.events[2].allocate);
  EXPECT_EQ(log.peak_requested, 4000U);
  EXPECT_EQ(log.failed_allocations, 1U);
  EXPECT_EQ(log.threads, 2U);
  EXPECT_EQ(log.streams, 2U);
}

TEST(AllocationLog, BadInputNamesTheLineAndTheProblem) {
  EXPECT_NE(error_of("Pointer,Size\n").find("log.csv:1: not an allocation log"), std::string::npos);
  EXPECT_NE(error_of(std::string{kHeader} + "1,12:00:00.000001,allocate,0x10,12\n")
                .find("log.csv:2: a row has six comma-separated fields"),
            std::string::npos);
  EXPECT_NE(error_of(std::string{kHeader} + "1,12:00:00.000001,resize,0x10,12,0\n")
                .find("log.csv:2: the action"),
            std::string::npos);
  EXPECT_NE(error_of(std::string{kHeader} + "1,12:00:00.000001,allocate,0x10,twelve,0\n")
                .find("the size"),
            std::string::npos);
  EXPECT_NE(error_of(std::string{kHeader} + "1,12:00:00.000001,free,0x10,12,0\n")
                .find("log.csv:2: a free of 0x10, which is not allocated"),
            std::string::npos);
  EXPECT_NE(error_of(std::string{kHeader} +
                     "1,12:00:00.000001,allocate,0x10,12,0\n1,12:00:00.000001,allocate,0x10,12,0\n")
                .find("log.csv:3: the address 0x10 is allocated again"),
            std::string::npos);
}

TEST(AllocationLog, TimesAreSecondsSinceTheFirstRowAcrossMidnight) {
  const auto log = read(std::string{kHeader} +
                        "1,23:59:59.500000,allocate,0x10,12,0\n"
                        "1,23:59:59.750000,allocate failure,(nil),99,0\n"
                        "1,00:00:00.250000,free,0x10,12,0\n");
  ASSERT_EQ(log.events.size(), 2U);
  EXPECT_DOUBLE_EQ(log.events[0].time, 0.0);
  EXPECT_DOUBLE_EQ(log.events[1].time, 0.75);
  ASSERT_EQ(log.failure_times.size(), 1U);
  EXPECT_DOUBLE_EQ(log.failure_times[0], 0.25);
  EXPECT_NE(error_of(std::string{kHeader} + "1,noon,allocate,0x10,12,0\n")
                .find("log.csv:2: the time is HH:MM:SS.ffffff"),
            std::string::npos);
}

}  // namespace
