#include "gpumem/mr/tracking_resource_adaptor.hpp"

#include <execinfo.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace gpumem {
namespace detail {

stack_trace stack_trace::capture() {
  constexpr int max_frames = 64;
  std::array<void*, max_frames> addresses{};
  const int count = ::backtrace(addresses.data(), max_frames);
  stack_trace trace;
  trace.frames_.assign(addresses.begin(), addresses.begin() + (count > 0 ? count : 0));
  return trace;
}

std::string stack_trace::to_string() const {
  std::string text;
  if (frames_.empty()) return text;
  // backtrace_symbols returns one malloc'ed block holding all the strings.
  const std::unique_ptr<char*, decltype(&std::free)> symbols{
      ::backtrace_symbols(frames_.data(), static_cast<int>(frames_.size())), &std::free};
  for (std::size_t frame = 0; frame < frames_.size(); ++frame) {
    text += '#';
    text += std::to_string(frame);
    text += ' ';
    if (symbols != nullptr) {
      text += symbols.get()[frame];
    } else {
      char address[2 + 16];
      auto* end = std::to_chars(address,
                                address + sizeof address,
                                reinterpret_cast<std::uintptr_t>(frames_[frame]),
                                16)
                      .ptr;
      text += "0x";
      text.append(address, end);
    }
    text += '\n';
  }
  return text;
}

}  // namespace detail

namespace mr::detail {
namespace {

/// A pointer as `0x` and lower-case hexadecimal, without allocating (frees report with it).
struct pointer_text {
  explicit pointer_text(const void* ptr) noexcept {
    text[0] = '0';
    text[1] = 'x';
    *std::to_chars(text + 2, text + 18, reinterpret_cast<std::uintptr_t>(ptr), 16).ptr = '\0';
  }
  [[nodiscard]] const char* c_str() const noexcept { return text; }
  char text[19];
};

}  // namespace

tracking_adaptor_core::tracking_adaptor_core(device_async_resource_ref upstream,
                                             bool capture_stacks)
    : resource_adaptor_core{upstream}, capture_stacks_{capture_stacks} {}

std::map<void*, tracking_adaptor_core::allocation_info>
tracking_adaptor_core::get_outstanding_allocations() const {
  std::lock_guard lock{mutex_};
  return allocations_;
}

std::string tracking_adaptor_core::get_outstanding_allocations_str() const {
  const auto allocations = get_outstanding_allocations();
  std::string text;
  for (const auto& [ptr, info] : allocations) {
    text += pointer_text(ptr).c_str();
    text += ": ";
    text += std::to_string(info.allocation_size);
    text += " B";
    if (info.strace != nullptr) {
      text += " : callstack:\n";
      text += info.strace->to_string();
    } else {
      text += '\n';
    }
  }
  return text;
}

void tracking_adaptor_core::log_outstanding_allocations() const {
  const auto allocations = get_outstanding_allocations();
  std::size_t bytes = 0;
  for (const auto& entry : allocations)
    bytes += entry.second.allocation_size;
  std::string report = "gpumem: tracking_resource_adaptor: " + std::to_string(allocations.size()) +
                       " outstanding allocation(s), " + std::to_string(bytes) + " B\n";
  report += get_outstanding_allocations_str();
  std::fwrite(report.data(), 1, report.size(), stderr);
  std::fflush(stderr);
}

void* tracking_adaptor_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  // The stack is taken before the upstream call, so a failed allocation costs no capture.
  std::shared_ptr<const gpumem::detail::stack_trace> trace;
  if (capture_stacks_)
    trace =
        std::make_shared<const gpumem::detail::stack_trace>(gpumem::detail::stack_trace::capture());
  void* ptr = allocate_upstream(bytes, stream);
  std::size_t stale_bytes = 0;
  bool was_tracked = false;
  try {
    std::lock_guard lock{mutex_};
    auto [position, inserted] =
        allocations_.try_emplace(ptr, allocation_info{std::move(trace), bytes});
    if (!inserted) {
      // The upstream handed out an address this adaptor still tracks: it was freed around the
      // adaptor. The new allocation replaces the stale entry.
      was_tracked = true;
      stale_bytes = position->second.allocation_size;
      position->second = allocation_info{std::move(trace), bytes};
    }
  } catch (...) {
    deallocate_upstream(ptr, bytes, stream);
    throw;
  }
  allocated_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  if (was_tracked) {
    allocated_bytes_.fetch_sub(stale_bytes, std::memory_order_relaxed);
    std::fprintf(stderr,
                 "gpumem: tracking_resource_adaptor: the upstream returned %s (%zu B), which was "
                 "still tracked "
                 "with %zu B: it was freed without this adaptor\n",
                 pointer_text(ptr).c_str(),
                 bytes,
                 stale_bytes);
  }
  return ptr;
}

void tracking_adaptor_core::do_deallocate(void* ptr,
                                          std::size_t bytes,
                                          cuda_stream_view stream) noexcept {
  std::size_t allocated_size = 0;
  std::size_t outstanding = 0;
  bool found = false;
  {
    // Forgotten before the upstream frees: afterwards another thread may receive the same
    // address, and its entry must not be erased here.
    std::lock_guard lock{mutex_};
    const auto position = allocations_.find(ptr);
    if (position != allocations_.end()) {
      found = true;
      allocated_size = position->second.allocation_size;
      allocations_.erase(position);
    }
    outstanding = allocations_.size();
  }
  if (!found) {
    std::fprintf(stderr,
                 "gpumem: tracking_resource_adaptor: free of %s (%zu B), which this adaptor did "
                 "not allocate or "
                 "freed already (%zu allocations outstanding); not passed to the upstream\n",
                 ptr == nullptr ? "a null pointer" : pointer_text(ptr).c_str(),
                 bytes,
                 outstanding);
    return;
  }
  if (allocated_size != bytes) {
    std::fprintf(stderr,
                 "gpumem: tracking_resource_adaptor: free of %s with %zu B, but it was allocated "
                 "with %zu B; freed "
                 "with %zu B\n",
                 pointer_text(ptr).c_str(),
                 bytes,
                 allocated_size,
                 allocated_size);
  }
  allocated_bytes_.fetch_sub(allocated_size, std::memory_order_relaxed);
  deallocate_upstream(ptr, allocated_size, stream);
}

bool tracking_adaptor_core::do_is_equal(const device_memory_resource& other) const noexcept {
  return same_core_and_upstream<tracking_adaptor_core>(other);
}

}  // namespace mr::detail
}  // namespace gpumem
