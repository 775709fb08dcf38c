// gpumem report's summary of an allocation log and its HTML page, on a log whose numbers are
// known: totals, the peak and when, streams, sizes, what is still allocated, the timeline
// (thinned without losing the peak) and the page's plot data.

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

#include "cli/allocation_log.hpp"
#include "cli/log_summary.hpp"
#include "cli/report_command.hpp"

namespace {

using gpumem::cli::summarize;

constexpr std::size_t kPeak = 3000000 + 500 + 8388608;

gpumem::cli::allocation_log known_log() {
  std::istringstream in{
      "Thread,Time,Action,Pointer,Size,Stream\n"
      "1,10:00:00.000001,allocate,0x7f0000000000,1048576,0\n"
      "1,10:00:00.000002,allocate,0x7f0000200000,3000000,0x55\n"
      "1,10:00:00.000003,free,0x7f0000000000,1048576,0\n"
      "2,10:00:00.000004,allocate,0x7f0000600000,500,0x55\n"
      "2,10:00:00.000005,allocate failure,(nil),999999999999,0\n"
      "2,10:00:00.000006,allocate,0x7f0000000000,8388608,0x55\n"
      "2,10:00:00.000007,free,0x7f0000200000,3000000,0x55\n"
      "2,10:00:00.000008,free,0x7f0000000000,8388608,0x55\n"};
  return gpumem::cli::read_allocation_log(in, "known.csv");
}

TEST(LogSummary, TotalsPeakStreamsSizesAndWhatIsLeft) {
  const auto summary = summarize(known_log());
  EXPECT_EQ(summary.allocations, 4U);
  EXPECT_EQ(summary.frees, 3U);
  EXPECT_EQ(summary.failed, 1U);
  EXPECT_EQ(summary.peak_in_use, kPeak);
  EXPECT_NEAR(summary.peak_time, 0.000005, 1e-9);
  EXPECT_NEAR(summary.duration, 0.000007, 1e-9);
  ASSERT_EQ(summary.streams.size(), 2U);
  EXPECT_EQ(summary.streams.at(0).allocations, 1U);
  EXPECT_EQ(summary.streams.at(0x55).peak_in_use, kPeak);
  EXPECT_EQ(summary.threads.at(2), 2U);
  ASSERT_EQ(summary.sizes.size(), 4U);
  EXPECT_EQ(summary.sizes.front().largest, 512U);  // 500 B
  EXPECT_EQ(summary.sizes.back().largest, 8388608U);
  ASSERT_EQ(summary.outstanding.size(), 1U);
  EXPECT_EQ(summary.outstanding[0].size, 500U);
  EXPECT_EQ(summary.outstanding_bytes, 500U);
  ASSERT_EQ(summary.failures.size(), 1U);
}

TEST(LogSummary, TheTimelineFollowsEveryEventAndThinningKeepsThePeak) {
  const auto summary = summarize(known_log());
  ASSERT_EQ(summary.timeline.size(), 7U);
  EXPECT_EQ(summary.timeline[0].in_use, 1048576U);
  EXPECT_EQ(summary.timeline[4].in_use, kPeak);
  EXPECT_EQ(summary.timeline[6].in_use, 500U);
  const auto thinned = summarize(known_log(), 3);
  EXPECT_LE(thinned.timeline.size(), 3U);
  bool has_peak = false;
  for (const auto& point : thinned.timeline)
    has_peak = has_peak || point.in_use == kPeak;
  EXPECT_TRUE(has_peak);
}

TEST(LogSummary, ThePageIsSelfContainedAndPlotsTheTimeline) {
  const auto summary = summarize(known_log());
  std::ostringstream page;
  gpumem::cli::write_summary_html("known.csv", summary, page);
  const std::string html = page.str();
  std::smatch points;
  ASSERT_TRUE(std::regex_search(html, points, std::regex{"<polyline points=\"([^\"]*)\""}));
  const std::string plotted = points[1];
  EXPECT_EQ(std::count(plotted.begin(), plotted.end(), ','), 7) << "one point per event";
  // The peak is the highest point: the top of the plot area (y = margin, 48).
  EXPECT_NE(plotted.find(",48.0"), std::string::npos) << plotted;
  EXPECT_EQ(std::count(html.begin(), html.end(), '\n') > 0, true);
  EXPECT_NE(html.find("class=\"failure\""), std::string::npos) << "the failed allocation";
  EXPECT_NE(html.find("peak in use 10.9 MiB"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos) << "nothing fetched";
  std::ostringstream text;
  gpumem::cli::write_summary_text("known.csv", summary, text);
  EXPECT_NE(text.str().find("peak in use 10.9 MiB at 0.000005 s"), std::string::npos) << text.str();
}

}  // namespace
