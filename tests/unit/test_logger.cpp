// gpumem's logger (rapids_logger's API, which RMM exposes), on the host.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gpumem/logger.hpp"
#include "scratch_folder.hpp"

namespace {

using gpumem::logging::level_enum;
using gpumem::logging::logger;

TEST(Logger, WritesWhatItsLevelLetsThrough) {
  std::ostringstream out;
  logger log{"test", out};
  log.set_pattern("%l %v");
  EXPECT_EQ(log.level(), level_enum::info);
  log.debug("hidden %d", 1);
  log.info("shown %d and %s", 2, std::string{"text"});
  log.error("an error");
  log.flush();
  EXPECT_EQ(out.str(), "info shown 2 and text\nerror an error\n");
  EXPECT_FALSE(log.should_log(level_enum::debug));
  log.set_level(level_enum::trace);
  EXPECT_TRUE(log.should_log(level_enum::trace));
  {
    gpumem::logging::log_level_setter quiet{log, level_enum::off};
    EXPECT_EQ(log.level(), level_enum::off);
    log.critical("nothing");
  }
  EXPECT_EQ(log.level(), level_enum::trace);
  EXPECT_EQ(out.str().find("nothing"), std::string::npos);
}

TEST(Logger, SinksCanBeAddedAndRemoved) {
  std::ostringstream first;
  std::ostringstream second;
  logger log{"test",
             std::vector<gpumem::logging::sink_ptr>{
                 std::make_shared<gpumem::logging::ostream_sink_mt>(first)}};
  log.set_pattern("%v");
  log.sinks().push_back(std::make_shared<gpumem::logging::ostream_sink_mt>(second));
  EXPECT_EQ(log.sinks().size(), 2U);
  log.info("both");
  log.sinks().pop_back();
  log.info("one");
  log.sinks().clear();
  log.info("none");
  log.flush();
  EXPECT_EQ(first.str(), "both\none\n");
  EXPECT_EQ(second.str(), "both\n");
}

std::vector<std::string> seen_by_callback;
void remember(int level, const char* message) {
  seen_by_callback.push_back(std::to_string(level) + ":" + message);
}

TEST(Logger, CallbackAndFileSinks) {
  gpumem::test::scratch_folder folder;
  const auto path = folder.path() / "log.txt";
  logger log{"test",
             std::vector<gpumem::logging::sink_ptr>{
                 std::make_shared<gpumem::logging::callback_sink_mt>(&remember),
                 std::make_shared<gpumem::logging::basic_file_sink_mt>(path.string(), true),
                 std::make_shared<gpumem::logging::null_sink_mt>()}};
  log.set_pattern("%v");
  log.warn("to %s", "both");
  log.flush();
  EXPECT_EQ(seen_by_callback, (std::vector<std::string>{"3:to both"}));
  std::ifstream file{path};
  std::string line;
  std::getline(file, line);
  EXPECT_EQ(line, "to both");
}

TEST(Logger, TheDefaultSinkFollowsRmmDebugLogFile) {
  gpumem::test::scratch_folder folder;
  const auto path = folder.path() / "rmm.log";
  ::setenv("RMM_DEBUG_LOG_FILE", path.c_str(), 1);
  {
    logger log{"RMM", std::vector<gpumem::logging::sink_ptr>{gpumem::default_sink()}};
    log.set_pattern(gpumem::default_pattern());
    log.info("into the file");
    log.flush();
  }
  ::unsetenv("RMM_DEBUG_LOG_FILE");
  std::ifstream file{path};
  std::string line;
  std::getline(file, line);
  EXPECT_NE(line.find("into the file"), std::string::npos) << line;
  EXPECT_NE(line.find("[info"), std::string::npos) << line;
  EXPECT_EQ(&gpumem::default_logger(), &gpumem::default_logger());
}

}  // namespace
