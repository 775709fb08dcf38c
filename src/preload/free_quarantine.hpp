#pragma once
// The quarantine free policy's store: blocks a program freed with cudaFree while work on any
// stream may still use them wait here for a device barrier before the stack may reuse them.
// No CUDA here: the barrier and the release are the caller's (tests/unit drives it on the host).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "core/per_thread.hpp"
#include "gpumem/detail/spin_lock.hpp"

namespace gpumem::preload {

/**
 * @brief Freed blocks waiting for a device barrier. Thread safe.
 *
 * Each thread holds its own frees (its share, behind a lock no other thread takes on the fast
 * path), so threads that free at once do not meet. A barrier covers every share: it first marks
 * what each share holds (taking each share's lock, so every free made before it happens before
 * the barrier starts), then waits for the device, then marks those blocks covered. A thread
 * releases its own covered blocks, so they go back to the stack on the thread that frees and
 * allocates them (the stack's per-thread caches keep them there); a share whose thread stopped
 * freeing (or ended) is released by the next barrier but one.
 *
 * Where the barrier runs: on the freeing thread when its share is full, and when it is half
 * full (ahead) on a background thread instead, if the caller offers one and the last barriers
 * waited for the device at least `background_after` (a device busy with queued work; the
 * freeing thread then goes on queueing work while the background thread waits). A share at
 * its limits waits for a running barrier when barriers run in the background (one was asked at
 * half of them), and at twice its limits when they do not, so the bytes held stay bounded.
 */
class free_quarantine {
 public:
  /// A freed block.
  struct block {
    void* pointer;
    std::size_t size;
    bool managed;  ///< from the managed stack
  };

  /**
   * @brief How many bytes a thread's share may hold before a barrier: a fixed bound, or one
   * that grows with the largest block the share holds, so that a barrier releases several
   * blocks of any size (at 64 MiB blocks a fixed 32 MiB bound would make every free wait for
   * the device).
   */
  struct byte_bound {
    std::size_t least = 0;              ///< the bound, or its floor when it grows
    std::size_t blocks_of_largest = 0;  ///< 0: fixed; else room for this many of the largest
    std::size_t most = SIZE_MAX;        ///< the ceiling of a growing bound

    /// The bound for a share whose largest held block has `largest` bytes.
    [[nodiscard]] std::size_t for_largest(std::size_t largest) const noexcept {
      if (blocks_of_largest == 0) return least;
      const std::size_t ceiling = std::max(least, most);
      const std::size_t wanted =
          largest > ceiling / blocks_of_largest ? ceiling : largest * blocks_of_largest;
      return std::clamp(wanted, least, ceiling);
    }
  };

  /**
   * @brief A thread's share is full (it starts a barrier) at `bytes` bytes or `block_limit`
   * blocks not yet covered by one; a large free also starts one when all shares together hold
   * that many bytes.
   */
  free_quarantine(byte_bound bytes,
                  std::size_t block_limit,
                  std::chrono::nanoseconds background_after = kBackgroundAfter)
      : bytes_bound_{bytes.least == 0 ? byte_bound{1, bytes.blocks_of_largest, bytes.most} : bytes},
        block_limit_{std::max<std::size_t>(block_limit, 1)},
        blocks_ahead_{block_limit_ >= kLeastLimitAhead ? block_limit_ / 2 : block_limit_},
        background_after_{background_after},
        device_lags_{background_after.count() == 0} {}

  /// A fixed bound of `byte_limit` bytes.
  free_quarantine(std::size_t byte_limit, std::size_t block_limit)
      : free_quarantine(byte_bound{byte_limit}, block_limit) {}

  /// Barriers that waited for the device this long, kSlowBarriersToMove of them in a row, move
  /// the next ones (ahead of a full share) to a background thread; one that did not brings
  /// them back. An idle device answers in about a microsecond, a thread wakes in a few, and
  /// on an idle device now and then one barrier takes longer: in a loop of allocations alone
  /// a background barrier costs the freeing thread more than it saves.
  static constexpr std::chrono::nanoseconds kBackgroundAfter = std::chrono::microseconds{20};
  static constexpr int kSlowBarriersToMove = 3;

  /**
   * @brief Keeps a freed block until a barrier covers it.
   * @return true when the caller should call release() now: its share is full, or a barrier
   *         covered some of its blocks
   * @throws std::bad_alloc when there is no host memory to remember it
   */
  bool hold(const block& freed) {
    share& mine = shares_.local();
    std::size_t uncovered_bytes = 0;
    std::size_t byte_limit = 0;
    bool ready = false;
    {
      std::lock_guard lock(mine.lock);
      mine.blocks.push_back(freed);
      mine.bytes.store(mine.bytes.load(std::memory_order_relaxed) + freed.size,
                       std::memory_order_relaxed);
      mine.uncovered_bytes += freed.size;
      mine.largest_uncovered = std::max(mine.largest_uncovered, freed.size);
      mine.last_hold = barriers_.load(std::memory_order_relaxed);
      uncovered_bytes = mine.uncovered_bytes;
      byte_limit = bytes_bound_.for_largest(mine.largest_uncovered);
      ready = mine.covered != 0 || mine.blocks.size() - mine.covered >= blocks_ahead_ ||
              uncovered_bytes >= byte_limit || asks_ahead_by_bytes(uncovered_bytes, byte_limit);
    }
    // A large free: the shares together may hold too much (each alone would not).
    if (!ready && uncovered_bytes >= byte_limit / kShareOfLimitForTotal)
      ready = bytes() >= byte_limit;
    return ready;
  }

  /**
   * @brief What hold() asked for: releases the calling thread's blocks a barrier covered. When
   * none is covered, or its share is full, first one barrier over every share (`barrier()`
   * waits for the device, true when it did); blocks freed while it runs are not its to release,
   * and it also releases the covered blocks of shares no thread added to lately. When the
   * barrier fails (CUDA refuses one while a stream captures a graph), every block stays for a
   * later one. `release(block)` gets each block released, outside any lock.
   * @return the number of blocks released
   */
  template <typename Barrier, typename Release>
  std::size_t release(Barrier&& barrier, Release&& release) {
    return this->release(barrier, release, [] { return false; });
  }

  /**
   * @brief release(barrier, release), where a barrier ahead of a full share may run on a
   * background thread: `in_background()` asks that thread to call background_barrier() soon,
   * without waiting (false: it cannot, and this thread runs the barrier).
   */
  template <typename Barrier, typename Release, typename Background>
  std::size_t release(Barrier&& barrier, Release&& release, Background&& in_background) {
    share& mine = shares_.local();
    std::vector<block> idle;
    if (const need asked = need_of(mine);
        asked != need::nothing && !(asked == need::ahead && asked_background(in_background))) {
      // One barrier at a time. A full share does not wait for another thread's barrier: that
      // one may cover its blocks, and this thread asks again at its next free (its share over
      // the limit meanwhile). At twice its limits (at its limits when barriers run in the
      // background) it waits.
      std::unique_lock one_at_a_time(barrier_mutex_, std::defer_lock);
      if (asked == need::uncovered || asked == need::overfull) {
        one_at_a_time.lock();
      } else if (!barrier_running_.load(std::memory_order_relaxed) &&
                 !background_asked_.load(std::memory_order_relaxed)) {
        (void)one_at_a_time.try_lock();  // (the flag spares the mutex's line while one runs)
      }
      // A barrier that ran while this thread asked may have covered its blocks already.
      if (one_at_a_time.owns_lock() && need_of(mine) != need::nothing) run_barrier(barrier, &idle);
    }
    // Shares whose threads stopped freeing, after barriers that ran in the background.
    if (idle_due_.load(std::memory_order_relaxed) && idle_due_.exchange(false)) {
      take_idle(barriers_.load(std::memory_order_relaxed), &mine, idle);
    }
    std::vector<block> taken = take_covered(mine);
    for (const block& freed : idle)
      release(freed);
    for (const block& freed : taken)
      release(freed);
    return taken.size() + idle.size();
  }

  /**
   * @brief For the background thread: one barrier over every share (as release() runs one),
   * unless nothing waits for one. Each thread releases its own covered blocks at its next free.
   */
  template <typename Barrier>
  void background_barrier(Barrier&& barrier) {
    std::lock_guard one_at_a_time(barrier_mutex_);
    // Cleared before the shares are marked: a thread that asks from now on holds blocks this
    // barrier may not mark, and its request is a new one.
    background_asked_.store(false);
    run_barrier(barrier, nullptr);
    idle_due_.store(true, std::memory_order_relaxed);
  }

  /// Whether barriers ahead of a full share run in the background now (the last
  /// kSlowBarriersToMove barriers each waited for the device at least `background_after`).
  [[nodiscard]] bool barriers_in_background() const noexcept {
    return device_lags_.load(std::memory_order_relaxed);
  }

  /**
   * @brief Releases every share's blocks after one barrier (to give memory back, at exit).
   * @return the number of blocks released (0 when the barrier failed: they all stay)
   */
  template <typename Barrier, typename Release>
  std::size_t release_all(Barrier&& barrier, Release&& release) {
    {
      std::lock_guard one_at_a_time(barrier_mutex_);
      run_barrier(barrier, nullptr);
    }
    std::vector<block> taken;
    shares_.for_each([&](share& each) {
      std::vector<block> covered = take_covered(each);
      taken.insert(taken.end(), covered.begin(), covered.end());
    });
    for (const block& freed : taken)
      release(freed);
    return taken.size();
  }

  /// Bytes held now (all shares).
  [[nodiscard]] std::size_t bytes() const {
    std::size_t total = 0;
    shares_.for_each(
        [&](const share& each) { total += each.bytes.load(std::memory_order_relaxed); });
    return total;
  }
  /// Blocks held now (all shares).
  [[nodiscard]] std::size_t blocks() const {
    std::size_t total = 0;
    shares_.for_each([&](share& each) {
      std::lock_guard lock(each.lock);
      total += each.blocks.size();
    });
    return total;
  }
  /// Barriers that succeeded.
  [[nodiscard]] std::uint64_t barriers() const noexcept {
    return barriers_.load(std::memory_order_relaxed);
  }

 private:
  /// A large free (this share of the byte limit) checks what all shares hold.
  static constexpr std::size_t kShareOfLimitForTotal = 16;
  /// Limits from which a barrier starts ahead, at half of them.
  static constexpr std::size_t kLeastLimitAhead = 64;
  /// A share that held nothing new for this many barriers is released by the next barrier.
  static constexpr std::uint64_t kIdleBarriers = 2;

  /// One thread's frees: blocks[0, covered) passed a barrier, [covered, marked) are being
  /// waited for by a barrier in progress, the rest wait for the next.
  struct share {
    mutable gpumem::detail::spin_lock lock;
    std::vector<block> blocks;
    std::size_t covered = 0;
    std::size_t marked = 0;
    std::size_t uncovered_bytes = 0;
    std::size_t marked_bytes = 0;       ///< of the blocks [covered, marked) when marked
    std::size_t largest_uncovered = 0;  ///< the largest of the blocks [covered, end)
    std::atomic<std::size_t> bytes{0};  ///< of all its blocks (read by other threads)
    std::uint64_t last_hold = 0;        ///< barriers done at its last hold
  };

  /// Whether a share asks for a barrier ahead by its bytes: at half its byte limit, and only
  /// when barriers run in the background (on the freeing thread, only a full share waits).
  bool asks_ahead_by_bytes(std::size_t uncovered_bytes, std::size_t byte_limit) const noexcept {
    return uncovered_bytes >= byte_limit / 2 && barriers_in_background();
  }

  /// Whether a background barrier is coming for what the calling thread holds now: one was
  /// asked for and has not started marking, or this call asked for it.
  template <typename Background>
  bool asked_background(Background& in_background) {
    if (!barriers_in_background()) return false;
    if (background_asked_.load(std::memory_order_relaxed) || background_asked_.exchange(true))
      return true;
    if (in_background()) return true;
    background_asked_.store(false);
    return false;
  }

  /// Takes the covered blocks of shares (other than `mine`) that held nothing new for
  /// kIdleBarriers barriers, `done` barriers so far.
  void take_idle(std::uint64_t done, const share* mine, std::vector<block>& idle) {
    shares_.for_each([&](share& each) {
      if (&each == mine) return;
      {
        std::lock_guard lock(each.lock);
        // (A hold that read a newer count than `done` is recent, not idle.)
        if (each.covered == 0 || each.last_hold + kIdleBarriers > done) return;
      }
      std::vector<block> covered = take_covered(each);
      idle.insert(idle.end(), covered.begin(), covered.end());
    });
  }

  /// Takes a share's covered blocks out of it.
  static std::vector<block> take_covered(share& from) {
    std::lock_guard lock(from.lock);
    if (from.covered == 0) return {};
    std::vector<block> taken(from.blocks.begin(),
                             from.blocks.begin() + static_cast<std::ptrdiff_t>(from.covered));
    from.blocks.erase(from.blocks.begin(),
                      from.blocks.begin() + static_cast<std::ptrdiff_t>(from.covered));
    std::size_t bytes = 0;
    for (const block& freed : taken)
      bytes += freed.size;
    from.bytes.store(from.bytes.load(std::memory_order_relaxed) - bytes, std::memory_order_relaxed);
    from.marked -= std::min(from.marked, from.covered);
    from.covered = 0;
    return taken;
  }

  /// What a share needs to release blocks: nothing (covered blocks wait, and there is room), a
  /// barrier ahead (half full), a barrier because it is full, a barrier it waits for because
  /// it holds twice its limits, or a barrier because nothing of it is covered (an explicit
  /// release: it waits for a running barrier).
  enum class need { nothing, ahead, full, overfull, uncovered };

  need need_of(share& mine) const {
    std::size_t uncovered_bytes = 0;
    std::size_t uncovered_blocks = 0;
    std::size_t byte_limit = 0;
    bool covered = false;
    {
      std::lock_guard lock(mine.lock);
      byte_limit = bytes_bound_.for_largest(mine.largest_uncovered);
      const std::size_t uncovered = mine.blocks.size() - mine.covered;
      // With barriers in the background, one was asked at half the limits: a full share waits
      // for it. On freeing threads a full share waits only at twice its limits.
      const std::size_t over = barriers_in_background() ? 1 : 2;
      if (uncovered / over >= block_limit_ || mine.uncovered_bytes / over >= byte_limit)
        return need::overfull;
      if (uncovered >= block_limit_ || mine.uncovered_bytes >= byte_limit) return need::full;
      uncovered_bytes = mine.uncovered_bytes;
      uncovered_blocks = mine.blocks.size() - mine.covered;
      covered = mine.covered != 0;
    }
    // (Covered blocks of its own go first: they count in what all shares hold.)
    if (covered) return need::nothing;
    if (uncovered_bytes >= byte_limit / kShareOfLimitForTotal && bytes() >= byte_limit)
      return need::full;
    return uncovered_blocks >= blocks_ahead_ || asks_ahead_by_bytes(uncovered_bytes, byte_limit)
               ? need::ahead
               : need::uncovered;
  }

  /// One barrier over every share (the caller holds barrier_mutex_): marks what each holds,
  /// waits, marks it covered. With `idle`, takes the covered blocks of shares no thread held
  /// anything in lately.
  template <typename Barrier>
  void run_barrier(Barrier& barrier, std::vector<block>* idle) {
    barrier_running_.store(true, std::memory_order_relaxed);
    struct done_on_exit {
      std::atomic<bool>& running;
      ~done_on_exit() { running.store(false, std::memory_order_relaxed); }
    } running_until_return{barrier_running_};
    bool anything = false;
    shares_.for_each([&](share& each) {
      std::lock_guard lock(each.lock);
      each.marked = each.blocks.size();
      each.marked_bytes = each.uncovered_bytes;
      anything = anything || each.marked > each.covered;
    });
    // Another thread's barrier may have covered everything while this one waited for it.
    if (!anything) return;
    const auto started = std::chrono::steady_clock::now();
    const bool succeeded = barrier();
    const bool slow = std::chrono::steady_clock::now() - started >= background_after_;
    slow_in_a_row_ = slow ? std::min(slow_in_a_row_ + 1, kSlowBarriersToMove) : 0;
    device_lags_.store(slow_in_a_row_ == kSlowBarriersToMove || background_after_.count() == 0,
                       std::memory_order_relaxed);
    if (!succeeded) {
      shares_.for_each([&](share& each) {
        std::lock_guard lock(each.lock);
        each.marked = each.covered;
        each.marked_bytes = 0;
      });
      return;
    }
    const std::uint64_t done = barriers_.fetch_add(1, std::memory_order_relaxed) + 1;
    shares_.for_each([&](share& each) {
      std::lock_guard lock(each.lock);
      each.uncovered_bytes -= each.marked_bytes;
      each.marked_bytes = 0;
      each.covered = std::max(each.covered, each.marked);
      each.largest_uncovered = 0;
      for (std::size_t i = each.covered; i < each.blocks.size(); ++i)
        each.largest_uncovered = std::max(each.largest_uncovered, each.blocks[i].size);
    });
    if (idle != nullptr) take_idle(done, nullptr, *idle);
  }

  byte_bound bytes_bound_;
  std::size_t block_limit_;
  /// Uncovered blocks at which a thread starts a barrier if none runs: half the limit, so the
  /// barrier completes before the blocks the thread's allocations reuse run out (the stack's
  /// per-thread cache holds what one release hands back); at the limit for small limits.
  std::size_t blocks_ahead_;
  std::mutex barrier_mutex_;
  std::atomic<bool> barrier_running_{false};  ///< set while barrier_mutex_ is held
  std::atomic<std::uint64_t> barriers_{0};
  std::chrono::nanoseconds background_after_;
  int slow_in_a_row_ = 0;                      ///< barriers in a row that took background_after_
  std::atomic<bool> device_lags_;              ///< kSlowBarriersToMove of them did
  std::atomic<bool> background_asked_{false};  ///< a background barrier is asked, not started
  std::atomic<bool> idle_due_{false};          ///< a background barrier ran: look for idle shares
  mutable core::per_thread<share> shares_;
};

}  // namespace gpumem::preload
