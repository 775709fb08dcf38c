// The shim's registry of served pointers, on the host: a free finds its record once (a second
// free of the same pointer finds nothing, which the shim refuses as CUDA does), under threads.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "preload/pointer_registry.hpp"

namespace {

using gpumem::preload::allocation_record;
using gpumem::preload::pointer_registry;

const void* pointer(std::uintptr_t index) {
  return reinterpret_cast<const void*>((index + 1) * 256);
}

TEST(PointerRegistry, ATakenRecordIsGone) {
  pointer_registry registry;
  registry.insert(pointer(1), allocation_record{4096, 0, false, true, 3});
  EXPECT_TRUE(registry.contains(pointer(1)));
  EXPECT_FALSE(registry.contains(pointer(2)));
  const auto record = registry.take(pointer(1));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->size, 4096U);
  EXPECT_TRUE(record->stream_ordered);
  EXPECT_EQ(record->generation, 3U);
  EXPECT_FALSE(registry.take(pointer(1)).has_value()) << "a second free must find nothing";
  EXPECT_FALSE(registry.contains(pointer(1)));
}

TEST(PointerRegistry, ThreadsInsertAndTakeEachRecordOnce) {
  pointer_registry registry;
  constexpr int kThreads = 8;
  constexpr std::uintptr_t kEach = 20000;
  std::atomic<int> lost{0};
  std::atomic<int> found_twice{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::uintptr_t first = static_cast<std::uintptr_t>(t) * kEach;
      for (std::uintptr_t i = first; i < first + kEach; ++i)
        registry.insert(pointer(i), allocation_record{i + 1, t, false, false, 0});
      for (std::uintptr_t i = first; i < first + kEach; ++i) {
        const auto record = registry.take(pointer(i));
        if (!record || record->size != i + 1) ++lost;
        if (registry.take(pointer(i))) ++found_twice;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(lost.load(), 0);
  EXPECT_EQ(found_twice.load(), 0);
}

}  // namespace
