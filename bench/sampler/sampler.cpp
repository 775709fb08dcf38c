/// @file sampler.cpp
/// @brief libgpumem_sampler.so: a tiny sampling profiler loaded with LD_PRELOAD, for machines
/// without perf, gdb, strace or valgrind (the GPU machine; possibly gVisor, so no hardware
/// performance counters).
///
/// Usage (next to the shim; scripts/profile-report.py reads the output):
///
///     export GPUMEM_SAMPLER_OUT=/tmp/samples.txt   # optional: GPUMEM_SAMPLER_HZ=4000
///     LD_PRELOAD="libgpumem_preload.so libgpumem_sampler.so" ./program
///     scripts/profile-report.py /tmp/samples.txt
///
/// Without GPUMEM_SAMPLER_OUT the library does nothing at all (its exec functions only pass the
/// call on). With it, a constructor installs a SIGPROF handler and starts
/// setitimer(ITIMER_PROF), whose clock is the CPU time (user and system) of all the process's
/// threads together: the kernel sends the signal to the thread that was running when the
/// interval ran out, so samples fall on threads in proportion to the CPU time they use. The
/// handler only stores the interrupted instruction pointer (from the ucontext) and the thread's
/// id in preallocated arrays (mmap at start, zero-filled pages touched as they fill;
/// GPUMEM_SAMPLER_CAPACITY entries, default 4 Mi, 48 MiB); once they are full it counts the
/// samples it drops. At exit (an atexit handler, or the library's destructor if that runs
/// first; whichever comes first writes) it stops the timer and writes GPUMEM_SAMPLER_OUT ("%p"
/// in it becomes the process id; written whole to a temporary file, then renamed):
///
///     # samples N dropped D hz H
///     # pid P cpu_s C wall_s W interval_us I
///     # thread T samples S                                (one per thread sampled)
///     map <a line of /proc/self/maps, verbatim>          (one per mapping)
///     ip 0x<address> <count>                              (one per distinct address)
///
/// Limits:
/// - Leaf instruction pointer only: no call stacks, so a flat profile ("self" time, perf report
///   --no-children), not an inclusive one.
/// - Time in the kernel is not seen as such: a sample taken during a system call shows the
///   user-space instruction where the call returns (typically inside libc's syscall wrapper),
///   because the signal is delivered on the way back to user space.
/// - The rate is bounded by the kernel's tick: process CPU timers are checked once per tick
///   (CONFIG_HZ, often 250 or 1000) on each CPU running one of the process's threads, so one
///   busy thread gets at most about CONFIG_HZ samples per second however high
///   GPUMEM_SAMPLER_HZ is (250 a CPU second on a CONFIG_HZ=250 kernel; gVisor's own clock may be
///   coarser). The cpu_s line lets the report show the rate reached; for percentages to about
///   a point, run the program for several CPU seconds (a thousand samples or more).
/// - SIGPROF does not queue: the timer's signal goes to the process, and while one is still
///   pending (its thread has not yet come back to user space, from a system call say) those of
///   other CPUs' ticks are lost. With many threads in the kernel (lock contention) the rate per
///   CPU second falls below the tick rate; the report shows it, and the samples per thread.
/// - Threads asleep use no CPU time and so get no samples (this is a CPU profile, not a wall
///   clock one). A signal interrupts system calls that SA_RESTART does not restart (sleeps,
///   waits with timeouts, epoll_wait): a program that does not retry on EINTR may notice.
/// - The program's own use of ITIMER_PROF or SIGPROF would conflict with the sampler's.
/// - Nothing is written when the process ends by _exit or a fatal signal. Code unloaded
///   (dlclose) before exit has no mapping left in the output.
/// - The timer would outlive an exec, whose new image would then die of SIGPROF before its own
///   sampler loads: the library exports execve, execv, execvp, execvpe, execl, execlp, execle,
///   fexecve and execveat, which stop sampling first (and resume it if the exec fails); the
///   samples of the image that execs are not written. A child after fork takes no samples
///   (timers are not inherited) and writes nothing.
/// - Programs run by the process (or running it: env, timeout, a shell) inherit LD_PRELOAD and
///   the environment and profile themselves. The first one sets GPUMEM_SAMPLER_SESSION (its
///   start time) in the environment; of the files that the processes of a session write, the
///   one with the most samples keeps the name GPUMEM_SAMPLER_OUT, the others get .PID appended,
///   and those with no samples are dropped. With "%p" in the name each keeps its own.
/// - x86-64 and aarch64 only; elsewhere the library does nothing.
///
/// It uses only POSIX and glibc and nothing from the rest of gpumem.

#include <alloca.h>
#include <dlfcn.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__aarch64__)
#define GPUMEM_SAMPLER_SUPPORTED 1
#else
#define GPUMEM_SAMPLER_SUPPORTED 0
#endif

namespace {

constexpr std::uint64_t kDefaultCapacity = std::uint64_t{4} << 20;  // 32 MiB of addresses
constexpr long kDefaultHz = 4000;

// Set once in the constructor, before the handler is installed; read-only after.
std::uint64_t* samples = nullptr;  // interrupted instruction pointers
std::uint32_t* threads = nullptr;  // the thread of each (its kernel thread id)
std::uint64_t capacity = 0;
long hz = 0;
long interval_us = 0;
pid_t owner_pid = 0;
timespec start_wall{};                // CLOCK_MONOTONIC, for wall_s
timespec session_start{};             // CLOCK_REALTIME: see place_output
struct sigaction original_action {};  // SIGPROF's disposition before the sampler's

std::atomic<std::uint64_t> next_slot{0};
std::atomic<std::uint64_t> dropped{0};
std::atomic<bool> stopped{false};
std::atomic<int> in_handler{0};  // handlers running now, on any thread
std::atomic<bool> written{false};
std::atomic<bool> paused_for_exec{false};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the signal handler needs lock-free atomics");

/// The interrupted instruction pointer, from the signal's ucontext.
std::uint64_t interrupted_ip(void* context) {
  const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
  return static_cast<std::uint64_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<std::uint64_t>(uc->uc_mcontext.pc);
#else
  (void)uc;
  return 0;
#endif
}

/// The SIGPROF handler: async-signal-safe (lock-free atomics, stores and gettid).
/// in_handler then stopped, both sequentially consistent, against stop_and_write's stopped then
/// in_handler: either the handler sees the stop, or stop_and_write waits for its store.
void on_sigprof(int, siginfo_t*, void* context) {
  in_handler.fetch_add(1);
  if (!stopped.load()) {
    const std::uint64_t slot = next_slot.fetch_add(1, std::memory_order_relaxed);
    if (slot < capacity) {
      samples[slot] = interrupted_ip(context);
      threads[slot] = static_cast<std::uint32_t>(syscall(SYS_gettid));  // cannot fail
    } else {
      dropped.fetch_add(1, std::memory_order_relaxed);
    }
  }
  in_handler.fetch_sub(1);
}

/// Starts (or with 0, stops) the process's CPU-time timer.
bool set_timer(long microseconds) {
  itimerval timer{};
  timer.it_interval.tv_sec = microseconds / 1000000;
  timer.it_interval.tv_usec = microseconds % 1000000;
  timer.it_value = timer.it_interval;
  return setitimer(ITIMER_PROF, &timer, nullptr) == 0;
}

bool install_handler() {
  struct sigaction action {};
  action.sa_sigaction = on_sigprof;
  action.sa_flags = SA_RESTART | SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  return sigaction(SIGPROF, &action, nullptr) == 0;
}

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

/// GPUMEM_SAMPLER_OUT with each "%p" replaced by the process id.
bool output_path(char* path, std::size_t size) {
  const char* pattern = std::getenv("GPUMEM_SAMPLER_OUT");
  if (pattern == nullptr || *pattern == '\0') return false;
  std::size_t used = 0;
  for (const char* p = pattern; *p != '\0'; ++p) {
    char pid_text[24];
    const char* piece = p;
    std::size_t length = 1;
    if (p[0] == '%' && p[1] == 'p') {
      length = static_cast<std::size_t>(
          std::snprintf(pid_text, sizeof pid_text, "%ld", static_cast<long>(getpid())));
      piece = pid_text;
      ++p;
    }
    if (used + length >= size) return false;
    std::memcpy(path + used, piece, length);
    used += length;
  }
  path[used] = '\0';
  return true;
}

/// The sample count and process id of an earlier output file, from its first two lines.
bool read_header(const char* path, unsigned long long& count, long& pid) {
  std::FILE* in = std::fopen(path, "r");
  if (in == nullptr) return false;
  const bool read =
      std::fscanf(in, "# samples %llu dropped %*u hz %*d # pid %ld", &count, &pid) == 2;
  std::fclose(in);
  return read;
}

/// Gives the finished file `written_path` its name `path`, unless `path` holds the output of
/// another process of this session (since the first sampled process of a tree of them started:
/// a wrapper such as env, timeout or a shell and the programs it runs, a program and its
/// helpers): then the process with more samples keeps `path` and the other's file is named
/// `path`.PID; a process with no samples at all then writes nothing.
void place_output(const char* written_path, const char* path, unsigned long long count) {
  char other_path[4200];
  struct stat existing {};
  unsigned long long other_count = 0;
  long other_pid = 0;
  const bool of_session = stat(path, &existing) == 0 &&
                          (existing.st_mtim.tv_sec > session_start.tv_sec ||
                           (existing.st_mtim.tv_sec == session_start.tv_sec &&
                            existing.st_mtim.tv_nsec >= session_start.tv_nsec)) &&
                          read_header(path, other_count, other_pid) && other_pid != owner_pid;
  if (of_session && count == 0) {
    std::remove(written_path);
    return;
  }
  if (of_session && other_count >= count) {
    std::snprintf(other_path, sizeof other_path, "%s.%ld", path, static_cast<long>(owner_pid));
    path = other_path;
  } else if (of_session) {
    std::snprintf(other_path, sizeof other_path, "%s.%ld", path, other_pid);
    std::rename(path, other_path);
  }
  if (std::rename(written_path, path) != 0) {
    std::fprintf(stderr, "gpumem_sampler: cannot write %s: %s\n", path, std::strerror(errno));
    std::remove(written_path);
  }
}

/// Stops the timer, then writes the output file; once, and only in the process that started.
void stop_and_write() {
  if (samples == nullptr || getpid() != owner_pid) return;
  if (written.exchange(true)) return;
  set_timer(0);
  // The handler stays installed (a SIGPROF still pending would otherwise end the process) but
  // from now on stores nothing; wait for handlers already past that check on other threads.
  stopped.store(true);
  while (in_handler.load() != 0)
    sched_yield();
  const std::uint64_t claimed = next_slot.load();
  const std::uint64_t count = std::min(claimed, capacity);

  timespec end_wall{};
  clock_gettime(CLOCK_MONOTONIC, &end_wall);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu_s = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  const double wall_s = static_cast<double>(end_wall.tv_sec - start_wall.tv_sec) +
                        static_cast<double>(end_wall.tv_nsec - start_wall.tv_nsec) * 1e-9;

  char path[4096];
  char written_path[4200];
  if (!output_path(path, sizeof path)) return;
  std::snprintf(
      written_path, sizeof written_path, "%s.tmp.%ld", path, static_cast<long>(owner_pid));
  std::FILE* out = std::fopen(written_path, "w");
  if (out == nullptr) {
    std::fprintf(
        stderr, "gpumem_sampler: cannot write %s: %s\n", written_path, std::strerror(errno));
    return;
  }
  std::uint64_t* const end = samples + count;
  std::sort(samples, end);
  // Defensive: a slot claimed but never stored (cannot happen after the wait above) is zero.
  const std::uint64_t* first = samples;
  while (first != end && *first == 0)
    ++first;
  const auto valid = static_cast<unsigned long long>(end - first);
  std::fprintf(out,
               "# samples %llu dropped %llu hz %ld\n",
               valid,
               static_cast<unsigned long long>(dropped.load()),
               hz);
  std::fprintf(out,
               "# pid %ld cpu_s %.6f wall_s %.6f interval_us %ld\n",
               static_cast<long>(owner_pid),
               cpu_s,
               wall_s,
               interval_us);
  // Samples per thread (sorted on their own: the pairing with the addresses is not needed).
  std::uint32_t* const threads_end = threads + count;
  std::sort(threads, threads_end);
  for (const std::uint32_t* run = threads; run != threads_end;) {
    const std::uint32_t* run_end = run + 1;
    while (run_end != threads_end && *run_end == *run)
      ++run_end;
    if (*run != 0)
      std::fprintf(out,
                   "# thread %lu samples %llu\n",
                   static_cast<unsigned long>(*run),
                   static_cast<unsigned long long>(run_end - run));
    run = run_end;
  }

  if (std::FILE* maps = std::fopen("/proc/self/maps", "r")) {
    char* line = nullptr;
    std::size_t line_size = 0;
    while (getline(&line, &line_size, maps) != -1) {
      std::fputs("map ", out);
      std::fputs(line, out);
      const std::size_t length = std::strlen(line);
      if (length == 0 || line[length - 1] != '\n') std::fputc('\n', out);
    }
    std::free(line);
    std::fclose(maps);
  }

  for (const std::uint64_t* run = first; run != end;) {
    const std::uint64_t* run_end = run + 1;
    while (run_end != end && *run_end == *run)
      ++run_end;
    std::fprintf(out,
                 "ip 0x%llx %llu\n",
                 static_cast<unsigned long long>(*run),
                 static_cast<unsigned long long>(run_end - run));
    run = run_end;
  }
  if (std::fclose(out) != 0) {
    std::fprintf(
        stderr, "gpumem_sampler: error writing %s: %s\n", written_path, std::strerror(errno));
    std::remove(written_path);
    return;
  }
  place_output(written_path, path, valid);
}

long environment_number(const char* name, long fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* rest = nullptr;
  const long value = std::strtol(text, &rest, 10);
  if (*rest != '\0' || value <= 0) {
    std::fprintf(stderr, "gpumem_sampler: ignoring %s=%s (not a positive number)\n", name, text);
    return fallback;
  }
  return value;
}

// exec: an interval timer outlives execve, but the handler does not (the new image starts with
// SIGPROF's default action, which ends the process, until its own copy of the sampler, if any,
// has loaded). So the exec functions stop the timer and give SIGPROF back its disposition from
// before the sampler first (setting SIG_IGN first drops a signal already pending), and restart
// sampling if the exec fails. The samples of the image that execs are not written.

using execve_function = int (*)(const char*, char* const*, char* const*);
using execvp_function = int (*)(const char*, char* const*);
using fexecve_function = int (*)(int, char* const*, char* const*);
using execveat_function = int (*)(int, const char*, char* const*, char* const*, int);

execve_function real_execve = nullptr;
execve_function real_execvpe = nullptr;
execvp_function real_execv = nullptr;
execvp_function real_execvp = nullptr;
fexecve_function real_fexecve = nullptr;
execveat_function real_execveat = nullptr;

template <typename Function>
void resolve(Function& function, const char* name) {
  function = reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
}

/// Looked up at load, sampling or not: an exec can come from a vfork child, where dlsym is
/// unsafe.
void resolve_exec_functions() {
  resolve(real_execve, "execve");
  resolve(real_execvpe, "execvpe");
  resolve(real_execv, "execv");
  resolve(real_execvp, "execvp");
  resolve(real_fexecve, "fexecve");
  resolve(real_execveat, "execveat");
}

/// Before an exec: true if it stopped sampling (then resume_after_exec restarts it).
bool pause_for_exec() {
  // A vfork child shares this memory but has its own pid, no timer and its own dispositions.
  if (samples == nullptr || getpid() != owner_pid || written.load()) return false;
  if (paused_for_exec.exchange(true)) return false;
  set_timer(0);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPROF, &ignore, nullptr);
  sigaction(SIGPROF, &original_action, nullptr);
  return true;
}

/// After an exec that failed.
void resume_after_exec(bool paused) {
  if (!paused) return;
  const int saved = errno;
  install_handler();
  set_timer(interval_us);
  paused_for_exec.store(false);
  errno = saved;
}

/// Calls `exec` with sampling paused; returns only if the exec failed.
template <typename Exec>
int paused_exec(Exec exec) {
  const bool paused = pause_for_exec();
  const int result = exec();
  resume_after_exec(paused);
  return result;
}

int missing() {
  errno = ENOSYS;
  return -1;
}

/// The arguments of execl, execle and execlp: `first`, then the variadic ones up to a null.
/// Returns the count (without the null); `argv` must hold it.
std::size_t count_arguments(const char* first, va_list arguments) {
  std::size_t count = first == nullptr ? 0 : 1;
  if (first != nullptr) {
    while (va_arg(arguments, const char*) != nullptr)
      ++count;
  }
  return count;
}

void copy_arguments(const char* first, va_list arguments, std::size_t count, char** argv) {
  argv[0] = const_cast<char*>(first);
  for (std::size_t i = 1; i < count; ++i)
    argv[i] = va_arg(arguments, char*);
  argv[count] = nullptr;
}

/**
 * @brief Calls `run(argv, rest)` with an execl-style call's arguments (`first` and those after it,
 * up to the null) as a null-terminated vector on this frame's stack, and `rest` positioned after
 * that null (execle's environment follows it); returns what `run` returns.
 */
template <typename Run>
int with_argument_vector(const char* first, va_list arguments, Run&& run) {
  va_list counting;
  va_copy(counting, arguments);
  const std::size_t count = count_arguments(first, counting);
  va_end(counting);
  auto** argv = static_cast<char**>(alloca((count + 1) * sizeof(char*)));
  copy_arguments(first, arguments, count, argv);
  if (count > 0) (void)va_arg(arguments, char*);  // the null after the arguments
  return run(argv, arguments);
}

/// The session's start (see place_output): inherited from the process that started it through
/// GPUMEM_SAMPLER_SESSION, which the first one sets.
void join_session() {
  constexpr const char* kName = "GPUMEM_SAMPLER_SESSION";
  if (const char* text = std::getenv(kName)) {
    long long sec = 0;
    long nsec = 0;
    if (std::sscanf(text, "%lld.%ld", &sec, &nsec) == 2) {
      session_start.tv_sec = static_cast<time_t>(sec);
      session_start.tv_nsec = nsec;
      return;
    }
  }
  clock_gettime(CLOCK_REALTIME, &session_start);
  char text[48];
  std::snprintf(text,
                sizeof text,
                "%lld.%09ld",
                static_cast<long long>(session_start.tv_sec),
                static_cast<long>(session_start.tv_nsec));
  setenv(kName, text, 1);
}

__attribute__((constructor)) void sampler_start() {
  resolve_exec_functions();
  const char* out = std::getenv("GPUMEM_SAMPLER_OUT");
  if (out == nullptr || *out == '\0') return;
  if (!GPUMEM_SAMPLER_SUPPORTED) {
    std::fprintf(stderr, "gpumem_sampler: this architecture is not supported; not sampling\n");
    return;
  }
  hz = environment_number("GPUMEM_SAMPLER_HZ", kDefaultHz);
  const auto wanted = static_cast<std::uint64_t>(
      environment_number("GPUMEM_SAMPLER_CAPACITY", static_cast<long>(kDefaultCapacity)));
  interval_us = std::max(1L, 1000000L / hz);

  const std::size_t bytes = wanted * (sizeof(std::uint64_t) + sizeof(std::uint32_t));
  void* memory = mmap(
      nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    std::fprintf(stderr, "gpumem_sampler: mmap failed: %s; not sampling\n", std::strerror(errno));
    return;
  }
  samples = static_cast<std::uint64_t*>(memory);
  threads = reinterpret_cast<std::uint32_t*>(samples + wanted);
  capacity = wanted;
  sigaction(SIGPROF, nullptr, &original_action);
  if (!install_handler()) {
    std::fprintf(stderr, "gpumem_sampler: sigaction failed: %s\n", std::strerror(errno));
    munmap(memory, bytes);
    samples = nullptr;
    return;
  }
  owner_pid = getpid();
  clock_gettime(CLOCK_MONOTONIC, &start_wall);
  join_session();
  std::atexit(stop_and_write);
  if (!set_timer(interval_us))
    std::fprintf(stderr, "gpumem_sampler: setitimer failed: %s\n", std::strerror(errno));
}

__attribute__((destructor)) void sampler_stop() {
  stop_and_write();
}

}  // namespace

// The exec functions, exported in place of libc's (see pause_for_exec).
extern "C" {

__attribute__((visibility("default"))) int execve(const char* path,
                                                  char* const argv[],
                                                  char* const envp[]) noexcept {
  if (real_execve == nullptr) return missing();
  return paused_exec([&] { return real_execve(path, argv, envp); });
}

__attribute__((visibility("default"))) int execv(const char* path, char* const argv[]) noexcept {
  if (real_execv == nullptr) return missing();
  return paused_exec([&] { return real_execv(path, argv); });
}

__attribute__((visibility("default"))) int execvp(const char* file, char* const argv[]) noexcept {
  if (real_execvp == nullptr) return missing();
  return paused_exec([&] { return real_execvp(file, argv); });
}

__attribute__((visibility("default"))) int execvpe(const char* file,
                                                   char* const argv[],
                                                   char* const envp[]) noexcept {
  if (real_execvpe == nullptr) return missing();
  return paused_exec([&] { return real_execvpe(file, argv, envp); });
}

__attribute__((visibility("default"))) int fexecve(int fd,
                                                   char* const argv[],
                                                   char* const envp[]) noexcept {
  if (real_fexecve == nullptr) return missing();
  return paused_exec([&] { return real_fexecve(fd, argv, envp); });
}

__attribute__((visibility("default"))) int execveat(
    int dirfd, const char* path, char* const argv[], char* const envp[], int flags) noexcept {
  if (real_execveat == nullptr) return missing();
  return paused_exec([&] { return real_execveat(dirfd, path, argv, envp, flags); });
}

__attribute__((visibility("default"))) int execl(const char* path, const char* arg, ...) noexcept {
  va_list arguments;
  va_start(arguments, arg);
  const int result =
      with_argument_vector(arg, arguments, [&](char** argv, va_list) { return execv(path, argv); });
  va_end(arguments);
  return result;
}

__attribute__((visibility("default"))) int execlp(const char* file, const char* arg, ...) noexcept {
  va_list arguments;
  va_start(arguments, arg);
  const int result = with_argument_vector(
      arg, arguments, [&](char** argv, va_list) { return execvp(file, argv); });
  va_end(arguments);
  return result;
}

/// execle: the environment follows the null that ends the arguments.
__attribute__((visibility("default"))) int execle(const char* path, const char* arg, ...) noexcept {
  va_list arguments;
  va_start(arguments, arg);
  const int result = with_argument_vector(arg, arguments, [&](char** argv, va_list rest) {
    return execve(path, argv, va_arg(rest, char* const*));
  });
  va_end(arguments);
  return result;
}

}  // extern "C"
