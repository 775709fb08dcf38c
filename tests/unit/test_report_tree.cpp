// The report's tree: its text form (units from the names, nesting, lists named by their first
// member), its JSON form, and the JSON read back giving the same text (so `gpumem report` on a
// JSON report shows what the text report shows).

#include <gtest/gtest.h>

#include <string>

#include "core/report_tree.hpp"

namespace {

using gpumem::core::parse_report_json;
using gpumem::core::report_json;
using gpumem::core::report_node;
using gpumem::core::report_text;

report_node sample() {
  report_node root;
  root.set("gpumem_report", "1.0");
  root.set("pid", 42);
  root.set("after_s", 1.5);
  report_node& devices = root.set("devices", report_node::list());
  report_node& device = devices.push(report_node{});
  device.set("device", 0);
  device.set("memory_bytes", std::uint64_t{3} << 30);
  report_node& calls = device.set("calls", report_node{});
  calls.set("allocations", 7);
  calls.set("passed_to_cuda", 1);
  report_node& layers = device.set("layers", report_node{});
  report_node& pool = layers.set("pool", report_node{});
  pool.set("reserved_bytes", std::uint64_t{64} << 20);
  pool.set("fragmentation_percent", 12.4);
  pool.set("map_time_ms", 0.25);
  report_node& place = device.set("place", report_node::list()).push(report_node{});
  place.set("blocks", 2);
  place.set("allocated_at", "#1 main\n#2 start \"quoted\"\ttab\n");
  return root;
}

TEST(ReportTree, TextWritesUnitsFromTheNamesAndNestsObjects) {
  const std::string text = report_text(sample(), "gpumem: ");
  EXPECT_EQ(text,
            "gpumem: gpumem report 1.0: pid 42, after 1.500 s\n"
            "gpumem:   device 0: memory 3.0 GiB\n"
            "gpumem:     calls: allocations 7, passed to CUDA 1\n"
            "gpumem:     pool: reserved 64.0 MiB, fragmentation 12%, map time 0.2 ms\n"
            "gpumem:     blocks 2\n"
            "gpumem:       allocated at:\n"
            "gpumem:         #1 main\n"
            "gpumem:         #2 start \"quoted\"\ttab\n");
}

TEST(ReportTree, JsonKeepsPlainNumbersAndEscapesTexts) {
  const std::string json = report_json(sample());
  EXPECT_NE(json.find("\"memory_bytes\": 3221225472"), std::string::npos) << json;
  EXPECT_NE(json.find("\"fragmentation_percent\": 12.4"), std::string::npos) << json;
  EXPECT_NE(json.find("\"allocated_at\": \"#1 main\\n#2 start \\\"quoted\\\"\\ttab\\n\""),
            std::string::npos)
      << json;
}

TEST(ReportTree, JsonReadBackGivesTheSameTextAndJson) {
  const std::string json = report_json(sample());
  std::string why;
  const auto read = parse_report_json(json, &why);
  ASSERT_TRUE(read.has_value()) << why;
  EXPECT_EQ(report_text(*read), report_text(sample()));
  EXPECT_EQ(report_json(*read), json);
}

TEST(ReportTree, ReadsJsonItDidNotWrite) {
  std::string why;
  const auto read = parse_report_json(
      R"( {"a": [1, -2.5e3, true, false, null], "b": {}, "c": "\u00e9\/", "d": []} )", &why);
  ASSERT_TRUE(read.has_value()) << why;
  const report_node& list = *read->find("a");
  ASSERT_EQ(list.elements().size(), 5U);
  EXPECT_EQ(list.elements()[0].integer(), 1);
  EXPECT_DOUBLE_EQ(list.elements()[1].real(), -2500.0);
  EXPECT_EQ(list.elements()[2].integer(), 1);
  EXPECT_EQ(list.elements()[3].integer(), 0);
  EXPECT_EQ(list.elements()[4].text(), "null");
  EXPECT_EQ(read->find("c")->text(), "\xc3\xa9/");
  EXPECT_TRUE(read->find("b")->members().empty());
}

TEST(ReportTree, RefusesWhatIsNotAJsonObjectAndSaysWhere) {
  for (const char* bad : {"",
                          "[1]",
                          "{\"a\": 1",
                          "{\"a\": 1} x",
                          "{\"a\" 1}",
                          "{\"a\": \"open}",
                          "{\"a\": -}",
                          "{\"a\": tru}",
                          "{\"a\": \"\\q\"}"}) {
    std::string why;
    EXPECT_FALSE(parse_report_json(bad, &why).has_value()) << bad;
    EXPECT_NE(why.find("at offset"), std::string::npos) << bad << ": " << why;
  }
  {
    std::string why;
    EXPECT_FALSE(parse_report_json("{\"a\": \"\\u12\"}", &why).has_value()) << "cut short";
  }
  {
    // Beyond what a size can be, or not finite: written as the most or as 0, never undefined.
    const auto huge = parse_report_json("{\"a_bytes\": 1e300, \"b_bytes\": -5}");
    ASSERT_TRUE(huge.has_value());
    EXPECT_NE(report_text(*huge).find("a 16777216.0 TiB"), std::string::npos) << report_text(*huge);
    EXPECT_NE(report_text(*huge).find("b 0 B"), std::string::npos) << report_text(*huge);
  }
  std::string deep(100, '[');
  std::string why;
  EXPECT_FALSE(parse_report_json("{\"a\": " + deep, &why).has_value());
  EXPECT_NE(why.find("deeper than 64"), std::string::npos) << why;
}

}  // namespace
