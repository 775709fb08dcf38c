// Every file of tests/config_corpus loads without a crash and with exactly the messages its
// NAME.expected names (see tests/config_corpus/README.md for the format).

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "config/configuration.hpp"

#ifndef GPUMEM_CONFIG_CORPUS
#error "GPUMEM_CONFIG_CORPUS names the folder of the corpus"
#endif

namespace {

namespace fs = std::filesystem;

struct expectation {
  bool valid = false;
  std::optional<std::size_t> count;
  std::vector<std::string> fragments;  ///< in the order the messages must hold them
};

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

expectation read_expectation(const fs::path& path, const std::string& file) {
  expectation expected;
  std::ifstream stream{path};
  std::string line;
  while (std::getline(stream, line)) {
    if (line.empty() || line.starts_with("#")) continue;
    if (line == "valid") {
      expected.valid = true;
    } else if (line.starts_with("messages: ")) {
      expected.count = std::stoul(line.substr(10));
    } else {
      expected.fragments.push_back(replaced(line, "{file}", file));
    }
  }
  return expected;
}

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator{GPUMEM_CONFIG_CORPUS}) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string listed(const std::vector<std::string>& messages) {
  std::string text;
  for (const auto& message : messages)
    text += "\n  " + message;
  return text.empty() ? " (none)" : text;
}

TEST(ConfigCorpus, HoldsTheCasesItNames) {
  const auto files = corpus_files();
  EXPECT_GE(files.size(), 40U);
  for (const auto& file : files) {
    auto expected = file;
    expected.replace_extension(".expected");
    EXPECT_TRUE(fs::exists(expected)) << file << " has no " << expected.filename();
  }
  for (const auto& entry : fs::directory_iterator{GPUMEM_CONFIG_CORPUS}) {
    if (entry.path().extension() != ".expected") continue;
    auto toml = entry.path();
    toml.replace_extension(".toml");
    EXPECT_TRUE(fs::exists(toml)) << entry.path()
                                  << " expects messages of a file that is not there";
  }
}

TEST(ConfigCorpus, EveryFileGivesItsMessages) {
  for (const auto& file : corpus_files()) {
    SCOPED_TRACE(file.filename().string());
    auto expected_path = file;
    expected_path.replace_extension(".expected");
    const expectation expected = read_expectation(expected_path, file.string());
    ASSERT_TRUE(expected.valid || expected.count)
        << expected_path << " says neither valid nor messages: N";

    const auto config = gpumem::config::configuration::load(file.string(), {});
    const auto& messages = config.errors();
    if (expected.valid) {
      EXPECT_TRUE(config.valid()) << "messages:" << listed(messages);
      // A valid file resolves to stacks without a crash.
      EXPECT_FALSE(config.device_stack(0).layers.empty());
      EXPECT_FALSE(config.managed_stack().layers.empty());
      continue;
    }
    EXPECT_EQ(messages.size(), *expected.count) << "messages:" << listed(messages);
    std::size_t next = 0;  // fragments match messages in order; several may match one message
    for (const std::string& fragment : expected.fragments) {
      std::size_t at = next;
      while (at < messages.size() && messages[at].find(fragment) == std::string::npos)
        ++at;
      EXPECT_LT(at, messages.size())
          << "no message (from the " << next + 1 << "th on) holds: " << fragment
          << "\nmessages:" << listed(messages);
      if (at < messages.size()) next = at;
    }
    for (const std::string& message : messages) {
      EXPECT_TRUE(message.starts_with("gpumem: " + file.string() + ":")) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      // The message's own length: the file's path, as long as wherever the checkout is, stands
      // as {file} each time the message names it (some name it twice).
      const std::string own = replaced(message, file.string(), "{file}");
      EXPECT_LT(own.size(), 180U) << "too long for a terminal: " << own;
    }
  }
}

}  // namespace
