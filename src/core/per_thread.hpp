#pragma once
// One value per thread for one owner (a device's quarantine, its counters): each thread writes
// its own without sharing a cache line or a lock with the others, and the owner reads them all.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <unordered_set>
#include <vector>

namespace gpumem::core {

namespace detail {

/// The owners alive now, by id: a thread that ends marks its values free only in owners that
/// still exist (never destroyed: threads end during static destruction too).
struct per_thread_owners {
  std::mutex mutex;
  std::unordered_set<std::uint64_t> alive;

  static per_thread_owners& instance() {
    static auto* owners = new per_thread_owners();
    return *owners;
  }

  /// In a child after fork: another thread of the parent may have held the lock at the fork,
  /// and that thread does not exist here, so the lock starts over unlocked.
  static void reset_after_fork() noexcept { new (&instance().mutex) std::mutex(); }
};

/// A value's slot, with whether a running thread owns it.
struct per_thread_slot {
  std::atomic<bool> owned{true};
};

/// The calling thread's recently used values, by owner id; at thread end its values are
/// marked free for threads to come.
struct per_thread_table {
  static constexpr std::size_t kEntries = 8;
  struct entry {
    std::uint64_t owner = 0;  ///< 0: empty (owner ids start at 1)
    void* value = nullptr;
    per_thread_slot* slot = nullptr;
  };
  std::array<entry, kEntries> entries{};
  std::size_t next_victim = 0;
  /// Every value this thread took, with its owner (the table keeps only the recent ones).
  std::vector<std::pair<std::uint64_t, per_thread_slot*>> taken;

  /// Marks this thread's values free for threads to come (in owners that still exist).
  void release_values() noexcept {
    per_thread_owners& owners = per_thread_owners::instance();
    std::lock_guard lock(owners.mutex);
    for (const auto& [owner, slot] : taken) {
      if (owners.alive.contains(owner)) slot->owned.store(false, std::memory_order_release);
    }
    taken.clear();
    entries = {};
  }
};

/// The calling thread's table (initial-exec: read on every interposed call, and a pointer
/// costs 8 bytes of the static TLS block).
inline constinit
    __attribute__((tls_model("initial-exec"))) thread_local per_thread_table* this_thread_table =
        nullptr;

/// Gives the thread's values back when the thread ends.
struct per_thread_table_owner {
  per_thread_table* table = nullptr;
  ~per_thread_table_owner() {
    if (table == nullptr) return;
    table->release_values();
    // Code that runs after this on the thread (exit handlers, on the thread calling exit())
    // gets a table of its own that is never given back: at most once per thread, at its end.
    this_thread_table = nullptr;
    delete table;
  }
};

/// A new owner's id, unique among the owners of every type (one table serves them all).
inline std::uint64_t next_per_thread_owner_id() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

inline constinit __attribute__((tls_model("initial-exec"))) thread_local bool table_given_back =
    false;

inline per_thread_table& thread_table() {
  if (this_thread_table != nullptr) [[likely]]
    return *this_thread_table;
  this_thread_table = new per_thread_table();
  if (!table_given_back) {
    table_given_back = true;  // one owner per thread; a later table (at thread end) is kept
    thread_local per_thread_table_owner owner;
    owner.table = this_thread_table;
  }
  return *this_thread_table;
}

}  // namespace detail

/**
 * @brief A `T` per thread, made on the thread's first use, kept after the thread ends (its
 * contents are still the owner's: blocks, counts) and handed to a later thread then, so a
 * program that makes a thread per task keeps as many values as it ran threads at once.
 *
 * local() costs a few loads on the fast path (a thread-local table of the 8 owners used last).
 * for_each() visits every value, each under the caller's own synchronisation: T's members
 * written by the owning thread and read by others must be atomics or lock-protected.
 */
template <typename T>
class per_thread {
 public:
  per_thread() {
    detail::per_thread_owners& owners = detail::per_thread_owners::instance();
    std::lock_guard lock(owners.mutex);
    owners.alive.insert(id_);
  }
  ~per_thread() {
    detail::per_thread_owners& owners = detail::per_thread_owners::instance();
    std::lock_guard lock(owners.mutex);
    owners.alive.erase(id_);
  }
  per_thread(const per_thread&) = delete;
  per_thread& operator=(const per_thread&) = delete;
  per_thread(per_thread&&) = delete;
  per_thread& operator=(per_thread&&) = delete;

  /// The calling thread's value. @throws std::bad_alloc when a new one cannot be made
  T& local() {
    detail::per_thread_table& table = detail::thread_table();
    for (const auto& entry : table.entries) {
      if (entry.owner == id_) return *static_cast<T*>(entry.value);
    }
    return adopt(table);
  }

  /// Calls `visit(T&)` for every thread's value (those of ended threads too).
  template <typename Visit>
  void for_each(Visit&& visit) const {
    std::lock_guard lock(mutex_);
    for (const auto& value : values_)
      visit(value->value);
  }

 private:
  struct owned_value : detail::per_thread_slot {
    T value;
  };

  /// Finds the calling thread's value (made earlier, or left by an ended thread, or new) and
  /// puts it in the thread's table.
  T& adopt(detail::per_thread_table& table) {
    owned_value* found = nullptr;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [owner, slot] : table.taken) {
        if (owner != id_) continue;
        found = static_cast<owned_value*>(slot);
        break;
      }
      if (found == nullptr) {
        for (const auto& value : values_) {
          bool expected = false;
          if (value->owned.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
            found = value.get();
            break;
          }
        }
      }
      if (found == nullptr) {
        values_.push_back(std::make_unique<owned_value>());
        found = values_.back().get();
      }
      if (std::find_if(table.taken.begin(), table.taken.end(), [&](const auto& taken) {
            return taken.first == id_;
          }) == table.taken.end()) {
        table.taken.emplace_back(id_, found);
      }
    }
    auto& entry = table.entries[table.next_victim++ % table.entries.size()];
    entry = {id_, &found->value, found};
    return found->value;
  }

  const std::uint64_t id_ = detail::next_per_thread_owner_id();
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<owned_value>> values_;
};

}  // namespace gpumem::core
