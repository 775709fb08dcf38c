#include "gpumem/mr/logging_resource_adaptor.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "gpumem/error.hpp"

namespace gpumem::mr::detail {
namespace {

constexpr std::string_view csv_header{"Thread,Time,Action,Pointer,Size,Stream"};

/// The kernel's id of the calling thread (what RMM's `%t` writes), asked once per thread.
std::uint64_t this_thread_id() noexcept {
  static thread_local const auto id = static_cast<std::uint64_t>(::syscall(SYS_gettid));
  return id;
}

char* append(char* out, std::string_view text) noexcept {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

char* append_decimal(char* out, std::uint64_t value) noexcept {
  // The caller's buffer has room for the longest row, so to_chars cannot run out of space.
  return std::to_chars(out, out + 20, value).ptr;
}

/// `value` in `width` digits, zero-padded (value < 10^width).
char* append_padded(char* out, unsigned value, int width) noexcept {
  for (int position = width - 1; position >= 0; --position) {
    out[position] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

/// A pointer as glibc's printf("%p") writes it: 0x and lower-case hex, "(nil)" for null.
char* append_pointer(char* out, const void* ptr) noexcept {
  if (ptr == nullptr) return append(out, "(nil)");
  out = append(out, "0x");
  return std::to_chars(out, out + 16, reinterpret_cast<std::uintptr_t>(ptr), 16).ptr;
}

/// A stream handle as `ostream << std::hex << pointer` writes it (RMM's format_stream): 0x and
/// lower-case hex, and a bare "0" for the null handle (the default stream).
char* append_stream(char* out, cudaStream_t stream) noexcept {
  if (stream == nullptr) return append(out, "0");
  out = append(out, "0x");
  return std::to_chars(out, out + 16, reinterpret_cast<std::uintptr_t>(stream), 16).ptr;
}

}  // namespace

logging_adaptor_core::logging_adaptor_core(device_async_resource_ref upstream,
                                           const std::string& filename,
                                           bool auto_flush)
    : resource_adaptor_core{upstream}, auto_flush_{auto_flush}, buffer_{new char[buffer_capacity]} {
  file_descriptor_ = ::open(filename.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (file_descriptor_ < 0) {
    const int error = errno;
    throw gpumem::logic_error{"gpumem: logging_resource_adaptor: cannot open the log file '" +
                              filename + "': " + std::strerror(error)};
  }
  start_with_header();
}

logging_adaptor_core::logging_adaptor_core(device_async_resource_ref upstream,
                                           std::ostream& stream,
                                           bool auto_flush)
    : resource_adaptor_core{upstream},
      stream_{&stream},
      auto_flush_{auto_flush},
      buffer_{new char[buffer_capacity]} {
  start_with_header();
}

logging_adaptor_core::logging_adaptor_core(device_async_resource_ref upstream,
                                           std::vector<logging::sink_ptr> sinks,
                                           bool auto_flush)
    : resource_adaptor_core{upstream},
      logger_{std::make_unique<logging::logger>("gpumem-logging", std::move(sinks))},
      auto_flush_{auto_flush},
      buffer_{new char[buffer_capacity]} {
  logger_->set_pattern("%v");
  start_with_header();
}

void logging_adaptor_core::start_with_header() {
  std::lock_guard lock{mutex_};
  char* out = append(buffer_.get(), csv_header);
  *out++ = '\n';
  buffered_ = static_cast<std::size_t>(out - buffer_.get());
  if (auto_flush_) write_out_locked();
}

logging_adaptor_core::~logging_adaptor_core() {
  std::lock_guard lock{mutex_};
  write_out_locked();
  if (file_descriptor_ >= 0) ::close(file_descriptor_);
}

void logging_adaptor_core::flush() {
  std::lock_guard lock{mutex_};
  write_out_locked();
}

std::string logging_adaptor_core::header() const {
  return std::string{csv_header};
}

std::string logging_adaptor_core::get_default_filename() {
  for (const char* variable : {"GPUMEM_LOG_FILE", "RMM_LOG_FILE"}) {
    if (const char* filename = std::getenv(variable); filename != nullptr) return filename;
  }
  throw gpumem::logic_error{
      "gpumem: logging_resource_adaptor: no log file name was given, and neither GPUMEM_LOG_FILE "
      "nor "
      "RMM_LOG_FILE is set"};
}

void* logging_adaptor_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  void* ptr = nullptr;
  try {
    ptr = allocate_upstream(bytes, stream);
  } catch (...) {
    log_event("allocate failure", nullptr, bytes, stream);
    throw;
  }
  log_event("allocate", ptr, bytes, stream);
  return ptr;
}

void logging_adaptor_core::do_deallocate(void* ptr,
                                         std::size_t bytes,
                                         cuda_stream_view stream) noexcept {
  // Logged first: once the upstream has the memory back, another thread may receive the same
  // address, and its allocate row must come after this free row.
  bool logged_ahead = false;
  if (freed_ahead_count_.load(std::memory_order_acquire) != 0) {
    std::lock_guard lock{mutex_};
    logged_ahead = freed_ahead_.erase(ptr) != 0;
    if (logged_ahead) freed_ahead_count_.fetch_sub(1, std::memory_order_release);
  }
  if (!logged_ahead) log_event("free", ptr, bytes, stream);
  deallocate_upstream(ptr, bytes, stream);
}

void logging_adaptor_core::log_free_ahead(void* ptr,
                                          std::size_t bytes,
                                          cuda_stream_view stream) noexcept {
  {
    std::lock_guard lock{mutex_};
    try {
      if (!freed_ahead_.insert(ptr).second) return;  // logged ahead already
    } catch (...) {
      return;  // out of host memory: the free is logged when the block comes down instead
    }
    freed_ahead_count_.fetch_add(1, std::memory_order_release);
  }
  log_event("free", ptr, bytes, stream);
}

bool logging_adaptor_core::do_is_equal(const device_memory_resource& other) const noexcept {
  return same_core_and_upstream<logging_adaptor_core>(other);
}

void logging_adaptor_core::log_event(std::string_view action,
                                     const void* ptr,
                                     std::size_t bytes,
                                     cuda_stream_view stream) noexcept {
  const std::uint64_t thread = this_thread_id();
  std::lock_guard lock{mutex_};
  if (buffered_ + longest_row > buffer_capacity) write_out_locked();
  char* out = buffer_.get() + buffered_;
  out = append_decimal(out, thread);
  *out++ = ',';
  out = append_time_of_day(out);
  *out++ = ',';
  out = append(out, action);
  *out++ = ',';
  out = append_pointer(out, ptr);
  *out++ = ',';
  out = append_decimal(out, bytes);
  *out++ = ',';
  out = append_stream(out, stream.value());
  *out++ = '\n';
  buffered_ = static_cast<std::size_t>(out - buffer_.get());
  if (auto_flush_) write_out_locked();
}

char* logging_adaptor_core::append_time_of_day(char* out) noexcept {
  using namespace std::chrono;
  const auto since_epoch = system_clock::now().time_since_epoch();
  const auto whole_seconds = duration_cast<seconds>(since_epoch);
  const auto microsecond = duration_cast<microseconds>(since_epoch - whole_seconds);
  if (whole_seconds.count() != cached_second_) {
    // localtime_r takes the time zone's lock and walks its rules: once per second is enough.
    const auto time = static_cast<std::time_t>(whole_seconds.count());
    std::tm local{};
    ::localtime_r(&time, &local);
    append_padded(cached_time_of_day_, static_cast<unsigned>(local.tm_hour), 2);
    cached_time_of_day_[2] = ':';
    append_padded(cached_time_of_day_ + 3, static_cast<unsigned>(local.tm_min), 2);
    cached_time_of_day_[5] = ':';
    append_padded(cached_time_of_day_ + 6, static_cast<unsigned>(local.tm_sec), 2);
    cached_second_ = whole_seconds.count();
  }
  out = append(out, std::string_view{cached_time_of_day_, sizeof cached_time_of_day_});
  *out++ = '.';
  return append_padded(out, static_cast<unsigned>(microsecond.count()), 6);
}

void logging_adaptor_core::write_out_locked() noexcept {
  if (buffered_ > 0) write_to_sink(buffer_.get(), buffered_);
  buffered_ = 0;
  if (stream_ != nullptr) {
    try {
      stream_->flush();
    } catch (...) {
      // A stream set to throw must not take the allocation path down; the failed state shows it.
    }
  }
}

void logging_adaptor_core::write_to_sink(const char* data, std::size_t size) noexcept {
  bool written = true;
  int error = 0;
  if (logger_ != nullptr) {
    // One message per row, the row alone.
    try {
      for (std::string_view rows{data, size}; !rows.empty();) {
        const std::size_t end = rows.find('\n');
        logger_->log(logging::level_enum::info, std::string{rows.substr(0, end)});
        rows.remove_prefix(end == std::string_view::npos ? rows.size() : end + 1);
      }
      logger_->flush();
    } catch (...) {
      written = false;
    }
  } else if (file_descriptor_ >= 0) {
    while (size > 0) {
      const ssize_t count = ::write(file_descriptor_, data, size);
      if (count < 0) {
        if (errno == EINTR) continue;
        written = false;
        error = errno;
        break;
      }
      data += count;
      size -= static_cast<std::size_t>(count);
    }
  } else {
    try {
      stream_->write(data, static_cast<std::streamsize>(size));
      written = !stream_->fail();
    } catch (...) {
      written = false;
    }
  }
  if (!written && !write_failed_) {
    write_failed_ = true;
    std::fprintf(
        stderr,
        "gpumem: logging_resource_adaptor: writing the log failed%s%s; later rows may be lost\n",
        error != 0 ? ": " : "",
        error != 0 ? std::strerror(error) : "");
  }
}

}  // namespace gpumem::mr::detail
