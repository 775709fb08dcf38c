#include "cli/check_command.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace gpumem::cli {
namespace {

std::string show(const config::option_setting& setting,
                 std::optional<std::uint64_t> total_bytes,
                 std::string_view unset_text) {
  return std::visit(
      [&](const auto& value) -> std::string {
        using value_type = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<value_type, core::byte_size>) {
          if (value.bytes) return core::format_bytes(*value.bytes);
          if (value.percent) {
            std::ostringstream text;
            text << value.percent.value() << "%";
            if (total_bytes)
              text << " = " << core::format_bytes(config::bytes_of(value, *total_bytes));
            return text.str();
          }
          return std::string{unset_text};
        } else if constexpr (std::is_same_v<value_type, std::vector<std::uint64_t>>) {
          std::string text;
          for (const auto size : value)
            text += (text.empty() ? "" : ", ") + core::format_bytes(size);
          return "[" + text + "]";
        } else if constexpr (std::is_same_v<value_type, bool>) {
          return value ? "true" : "false";
        } else if constexpr (std::is_same_v<value_type, std::uint64_t>) {
          return std::to_string(value);
        } else {
          return value.empty() ? std::string{"(empty)"} : value;
        }
      },
      setting.value);
}

void print_stack(const config::resolved_stack& stack,
                 std::optional<std::uint64_t> total_bytes,
                 std::ostream& out) {
  out << "  layers from " << stack.layers_from.describe() << "\n";
  int number = 1;
  for (const config::resolved_layer& layer : stack.layers) {
    out << "  " << number++ << ". " << std::left << std::setw(12) << layer.name
        << (layer.spec != nullptr ? std::string{layer.spec->meaning}
                                  : std::string{"(unknown layer)"})
        << "\n";
    for (const auto& [spec, value] : layer.options) {
      out << "       " << std::left << std::setw(18) << spec->key << std::setw(28)
          << (value ? show(*value, total_bytes, spec->unset_text) : std::string{spec->unset_text})
          << (value ? value->from.describe() : "default") << "\n";
    }
  }
}

}  // namespace

int check(const config::configuration& configuration,
          const std::vector<device_memory>& devices,
          std::ostream& out,
          std::ostream& errors) {
  out << "gpumem check: "
      << (configuration.file() ? "file " + *configuration.file() : std::string{"no file"})
      << ", and the GPUMEM_* environment\n\nprocess\n";
  for (const auto& option : config::process_options()) {
    const auto& setting = configuration.process(option.key);
    out << "       " << std::left << std::setw(18) << option.key << std::setw(28)
        << show(setting, std::nullopt, option.unset_text) << setting.from.describe() << "\n";
  }
  std::vector<std::string> problems = configuration.errors();
  if (configuration.valid()) {
    if (devices.empty()) {
      out << "\ndevice memory (cudaMalloc, cudaMallocAsync), every device (no CUDA device found "
             "here: shares "
             "are shown as written)\n";
      print_stack(configuration.device_stack(-1), std::nullopt, out);
      for (const int device : configuration.overridden_devices()) {
        out << "\ndevice " << device << "\n";
        print_stack(configuration.device_stack(device), std::nullopt, out);
      }
    }
    for (const device_memory& device : devices) {
      out << "\ndevice " << device.device << " (" << core::format_bytes(device.total_bytes)
          << "): device memory (cudaMalloc, cudaMallocAsync)\n";
      print_stack(configuration.device_stack(device.device), device.total_bytes, out);
      const auto found = configuration.check_for_device(device.device, device.total_bytes);
      problems.insert(problems.end(), found.begin(), found.end());
    }
    for (const int device : configuration.overridden_devices()) {
      const bool exists =
          std::any_of(devices.begin(), devices.end(), [device](const device_memory& d) {
            return d.device == device;
          });
      if (!devices.empty() && !exists) {
        errors << "gpumem: warning: [devices." << device
               << "] names a device this machine does not have (" << devices.size()
               << " devices)\n";
      }
    }
    out << "\nmanaged memory (cudaMallocManaged)\n";
    print_stack(configuration.managed_stack(),
                devices.empty() ? std::nullopt : std::optional{devices.front().total_bytes},
                out);
  }
  for (const std::string& problem : config::shown_problems(problems))
    errors << problem << "\n";
  out << "\n"
      << (problems.empty() ? "valid" : std::to_string(problems.size()) + " problem(s): not valid")
      << "\n";
  return problems.empty() ? 0 : 1;
}

}  // namespace gpumem::cli
