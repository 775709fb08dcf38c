#include "cli/allocation_log.hpp"

#include <charconv>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

namespace gpumem::cli {
namespace {

constexpr std::string_view kHeader = "Thread,Time,Action,Pointer,Size,Stream";

/// A decimal or 0x-prefixed hexadecimal number; false when `text` is not one.
bool parse_number(std::string_view text, std::uint64_t& value) {
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return error == std::errc{} && end == text.data() + text.size();
}

/// A time of day, HH:MM:SS.ffffff as the logging layer writes it, in seconds; false when `text`
/// is not one.
bool parse_time_of_day(std::string_view text, double& seconds) {
  std::uint64_t hours = 0;
  std::uint64_t minutes = 0;
  if (text.size() < 8 || text[2] != ':' || text[5] != ':' ||
      !parse_number(text.substr(0, 2), hours) || !parse_number(text.substr(3, 2), minutes))
    return false;
  double whole_and_fraction = 0;
  const std::string_view rest = text.substr(6);
  const auto [end, error] =
      std::from_chars(rest.data(), rest.data() + rest.size(), whole_and_fraction);
  if (error != std::errc{} || end != rest.data() + rest.size()) return false;
  seconds = static_cast<double>(hours * 3600 + minutes * 60) + whole_and_fraction;
  return true;
}

}  // namespace

allocation_log read_allocation_log(std::istream& in, const std::string& name) {
  allocation_log log;
  std::string line;
  std::size_t line_number = 0;
  const auto fail = [&](const std::string& what) {
    throw std::runtime_error{name + ":" + std::to_string(line_number) + ": " + what};
  };
  while (std::getline(in, line) && line.empty())
    ++line_number;
  ++line_number;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != kHeader)
    fail("not an allocation log: the first line must be \"" + std::string{kHeader} + "\"");
  std::unordered_map<std::uintptr_t, std::size_t> live;
  std::set<std::uint64_t> threads;
  std::set<std::uintptr_t> streams;
  std::size_t live_bytes = 0;
  std::optional<double> first_time;
  double previous_time = 0;
  double days = 0;  // a log that runs past midnight
  // Seconds since the first row, from a row's time of day.
  const auto elapsed = [&](std::string_view text) {
    double seconds = 0;
    if (!parse_time_of_day(text, seconds)) fail("the time is HH:MM:SS.ffffff: " + line);
    if (first_time && seconds + days < previous_time - 43200) days += 86400;
    previous_time = seconds + days;
    if (!first_time) first_time = previous_time;
    return previous_time - *first_time;
  };
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::string_view fields[6];
    std::string_view rest{line};
    for (int i = 0; i < 6; ++i) {
      const auto comma = rest.find(',');
      if ((comma == std::string_view::npos) != (i == 5))
        fail("a row has six comma-separated fields: " + line);
      fields[i] = rest.substr(0, comma);
      if (comma != std::string_view::npos) rest.remove_prefix(comma + 1);
    }
    const std::string_view action = fields[2];
    if (action == "allocate failure") {
      ++log.failed_allocations;
      log.failure_times.push_back(elapsed(fields[1]));
      continue;
    }
    if (action != "allocate" && action != "free")
      fail("the action is allocate, free or allocate failure, not \"" + std::string{action} + "\"");
    // A 0-byte request gets nullptr, and a free of nullptr does nothing: nothing to replay.
    if (fields[3] == "(nil)" || fields[3] == "0") continue;
    log_event event{};
    event.allocate = action == "allocate";
    event.time = elapsed(fields[1]);
    std::uint64_t pointer = 0;
    std::uint64_t size = 0;
    std::uint64_t stream = 0;
    if (!parse_number(fields[0], event.thread)) fail("the thread is a number: " + line);
    if (!parse_number(fields[3], pointer)) fail("the pointer is a hexadecimal address: " + line);
    if (!parse_number(fields[4], size)) fail("the size is a number of bytes: " + line);
    if (!parse_number(fields[5], stream)) fail("the stream is a handle (0 or 0x...): " + line);
    event.pointer = static_cast<std::uintptr_t>(pointer);
    event.size = static_cast<std::size_t>(size);
    event.stream = static_cast<std::uintptr_t>(stream);
    if (event.allocate) {
      if (!live.emplace(event.pointer, event.size).second)
        fail("the address " + std::string{fields[3]} + " is allocated again before its free");
      live_bytes += event.size;
      log.peak_requested = std::max(log.peak_requested, live_bytes);
    } else {
      const auto found = live.find(event.pointer);
      if (found == live.end())
        fail("a free of " + std::string{fields[3]} + ", which is not allocated at that point");
      live_bytes -= found->second;
      live.erase(found);
    }
    threads.insert(event.thread);
    streams.insert(event.stream);
    log.events.push_back(event);
  }
  log.threads = threads.size();
  log.streams = streams.size();
  return log;
}

}  // namespace gpumem::cli
