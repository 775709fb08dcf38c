// The gpumem command: check, keys, run, replay and help, parsed with CLI11. Usage errors go to
// stderr with exit status 2; --help (on the command and each subcommand) and --version go to
// stdout with status 0.

#include <cuda_runtime_api.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/check_command.hpp"
#include "cli/replay_command.hpp"
#include "cli/report_command.hpp"
#include "cli/run_command.hpp"
#include "config/key_table.hpp"
#include "core/byte_size.hpp"

namespace {

std::vector<gpumem::cli::device_memory> find_devices() {
  std::vector<gpumem::cli::device_memory> devices;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return devices;
  }
  for (int device = 0; device < count; ++device) {
    cudaDeviceProp properties{};
    if (cudaGetDeviceProperties(&properties, device) == cudaSuccess) {
      devices.push_back({device, properties.totalGlobalMem});
    }
  }
  return devices;
}

/// A size such as 8GiB, as the configuration writes sizes.
struct size_validator : CLI::Validator {
  size_validator() {
    name_ = "SIZE";
    func_ = [](const std::string& text) {
      std::string why;
      return gpumem::core::parse_bytes(text, &why) ? std::string{} : why;
    };
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gpumem: pooled GPU memory for any CUDA program (the shim) and for code written "
      "against RMM's API (the library).",
      "gpumem"};
  app.set_version_flag("--version", std::string{"gpumem "} + GPUMEM_VERSION_STRING);
  app.footer("Every subcommand takes --help. README.md has the whole story.");

  auto* check = app.add_subcommand(
      "check",
      "validate a configuration (FILE, else the file GPUMEM_CONFIG names) together with the "
      "GPUMEM_* environment, and print every device's resolved stack with where each value came "
      "from; exit status 0 when valid");
  std::optional<std::string> check_file;
  check->add_option("FILE", check_file, "the configuration file (TOML)");

  auto* keys = app.add_subcommand(
      "keys",
      "print every configuration key (TOML key, GPUMEM_* variable, type, default, meaning) as a "
      "Markdown table");

  gpumem::cli::run_options run_options;
  auto* run =
      app.add_subcommand("run", "run PROGRAM under the shim (libgpumem_preload.so in LD_PRELOAD)");
  run->add_option("--config", run_options.config, "a configuration file (GPUMEM_CONFIG)");
  run->add_option("--report", run_options.report, "the report at exit (GPUMEM_REPORT)")
      ->check(CLI::IsMember({"off", "text", "json"}));
  run->add_flag("--simulator",
                run_options.simulator,
                "run on gpumem's CUDA simulator (a build tree's simulator/), for a machine "
                "without a GPU and a program linked with -cudart=shared");
  run->add_option("PROGRAM", run_options.program, "the program and its arguments, after --")
      ->required();
  run->footer(
      "gpumem run [--config FILE] [--report off|text|json] [--simulator] -- PROGRAM "
      "[ARGS...]");

  gpumem::cli::replay_options replay_options;
  std::optional<std::string> limit_text;
  auto* replay = app.add_subcommand(
      "replay",
      "replay an allocation log (the logging layer's CSV, RMM's format) through cudaMalloc, the "
      "driver's pool, a pool over cudaMalloc slabs, the default stack and each --config file, and "
      "print the time per operation and the peak memory in use and held");
  replay->add_option("LOG", replay_options.log, "the allocation log")->required();
  replay->add_option("--config", replay_options.configs, "a configuration file (repeatable)");
  replay->add_option("--limit", limit_text, "a limit on what each stack's memory source may hold")
      ->check(size_validator{});

  gpumem::cli::report_options report_options;
  auto* report = app.add_subcommand(
      "report",
      "summarize an allocation log (the logging layer's CSV): peak in use and when, sizes, "
      "streams, threads, blocks still allocated; with --html, a self-contained page with the "
      "timeline. Given the shim's JSON report (GPUMEM_REPORT=json), print it as text");
  report->add_option("FILE", report_options.log, "the allocation log, or a JSON report")
      ->required();
  report->add_option("--html", report_options.html, "also write a page with the timeline here");

  app.add_subcommand("help", "print the help of gpumem, or with COMMAND of that subcommand");
  // `gpumem help COMMAND` is answered before parsing: parsed, COMMAND would be run.
  if (argc >= 2 && std::string_view{argv[1]} == "help") {
    if (argc == 2) {
      std::cout << app.help();
      return 0;
    }
    if (std::string_view{argv[2]} == "--help" || std::string_view{argv[2]} == "-h") {
      std::cout << app.get_subcommand("help")->help();
      return 0;
    }
    for (CLI::App* subcommand : app.get_subcommands({})) {
      if (subcommand->get_name() == argv[2]) {
        std::cout << subcommand->help();
        return 0;
      }
    }
    std::cerr << "gpumem help: no subcommand '" << argv[2] << "'\n";
    return 2;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help, --version: stdout
    std::cerr << "gpumem: " << error.what() << "\n"
              << "Run 'gpumem --help' (or 'gpumem COMMAND --help') for usage.\n";
    return 2;
  }

  if (*check) {
    const auto configuration =
        gpumem::config::configuration::load(check_file, gpumem::config::process_environment());
    return gpumem::cli::check(configuration, find_devices(), std::cout, std::cerr);
  }
  if (*keys) {
    std::cout << gpumem::config::markdown_key_table();
    return 0;
  }
  if (*run) return gpumem::cli::run(run_options);
  if (*report) return gpumem::cli::report(report_options);
  if (*replay) {
    if (limit_text) replay_options.limit = gpumem::core::parse_bytes(*limit_text);
    return gpumem::cli::replay(replay_options);
  }
  std::cout << app.help();
  return 0;
}
