// A configuration: loaded from a file and the environment in one go (read, resolve each stack
// once, validate), then only read. Nothing here throws for bad input, and nothing touches CUDA.

#include "config/configuration.hpp"

#include <stdexcept>

#include "config/loading.hpp"
#include "config/value_text.hpp"

namespace gpumem::config {

std::string origin::describe() const {
  switch (from) {
    case source::default_value:
      return "default";
    case source::file:
      return where;
    case source::environment:
      return "environment " + where;
  }
  return where;
}

const std::vector<std::string>& default_device_stack() {
  static const std::vector<std::string> stack{"pool", "expandable"};
  return stack;
}

const std::vector<std::string>& default_managed_stack() {
  static const std::vector<std::string> stack{"statistics", "managed"};
  return stack;
}

std::uint64_t bytes_of(const core::byte_size& size, std::uint64_t total_bytes) {
  if (size.bytes) return *size.bytes;
  if (size.percent) {
    const auto share =
        static_cast<std::uint64_t>(static_cast<double>(total_bytes) * *size.percent / 100.0);
    return share / 256 * 256;
  }
  return 0;
}

void problem_list::error(const std::string& where, const std::string& message) {
  errors.push_back("gpumem: " + escaped(where + ": " + message));
}

void problem_list::tolerable_error(const std::string& where, const std::string& message) {
  error(where, message);
  tolerable.push_back(errors.back());
}

configuration::configuration() : configuration{settings{}} {}

configuration::configuration(const settings& read)
    : device_{resolve("[device]", read.device, nullptr, default_device_stack())},
      managed_{resolve("[managed]", read.managed, nullptr, default_managed_stack())} {
  for (const auto& option : process_options()) {
    if (const auto given = read.process.find(option.key); given != read.process.end()) {
      process_.emplace(option.key, given->second);
      continue;
    }
    process_.emplace(option.key, option_setting{default_value(option), {}});
  }
  for (const auto& [device, own] : read.overrides) {
    overrides_.emplace(
        device,
        resolve(
            "[devices." + std::to_string(device) + "]", own, &read.device, default_device_stack()));
  }
}

configuration configuration::load(std::optional<std::string> file, const environment& env) {
  settings read;
  problem_list problems;
  std::string named_by;
  if (!file) {
    for (const auto& [name, value] : env) {
      if (name == "GPUMEM_CONFIG" && !trim(value).empty()) file = value;
    }
    named_by = "GPUMEM_CONFIG=";
  }
  if (file) read_file(*file, named_by, read, problems);
  read_environment(env, read, problems);
  configuration config{read};
  config.file_ = file;
  validate(config, read, problems);
  config.errors_ = std::move(problems.errors);
  config.tolerable_ = std::move(problems.tolerable);
  return config;
}

const option_setting& configuration::process(std::string_view key) const {
  const auto found = process_.find(key);
  if (found == process_.end())
    throw std::out_of_range{"gpumem: no process option " + std::string{key}};
  return found->second;
}

const std::string& configuration::process_text(std::string_view key) const {
  return std::get<std::string>(process(key).value);
}

const resolved_stack& configuration::device_stack(int device) const {
  const auto found = overrides_.find(device);
  return found == overrides_.end() ? device_ : found->second;
}

std::vector<int> configuration::overridden_devices() const {
  std::vector<int> devices;
  for (const auto& [device, stack] : overrides_)
    devices.push_back(device);
  return devices;
}

std::vector<std::string> shown_problems(const std::vector<std::string>& problems,
                                        std::size_t most) {
  if (problems.size() <= most) return problems;
  std::vector<std::string> shown(problems.begin(),
                                 problems.begin() + static_cast<std::ptrdiff_t>(most));
  shown.push_back("gpumem: and " + std::to_string(problems.size() - most) +
                  " more problems, not shown (fix these first)");
  return shown;
}

}  // namespace gpumem::config
