// The table of blocks handed out (lent_block_table): host only.

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "mr/lent_block_table.hpp"

namespace {

using gpumem::mr::detail::lent_block_table;

TEST(LentBlockTable, AClaimGivesTheRecordedSizeOnce) {
  lent_block_table table;
  table.record(0x7f0000001000, 4096);
  EXPECT_EQ(table.claim(0x7f0000002000), 0U);
  EXPECT_EQ(table.claim(0x7f0000001000), 4096U);
  EXPECT_EQ(table.claim(0x7f0000001000), 0U) << "a freed block is still recorded";
  table.record(0x7f0000001000, 256);  // served again, with another size
  EXPECT_EQ(table.claim(0x7f0000001000), 256U);
}

TEST(LentBlockTable, APointerInsideABlockIsNotTheBlock) {
  lent_block_table table;
  table.record(0x7f0000001000, 1024);
  EXPECT_EQ(table.claim(0x7f0000001010), 0U) << "16 bytes in";
  EXPECT_EQ(table.claim(0x7f0000001100), 0U) << "256 bytes in";
  EXPECT_EQ(table.claim(0x7f0000001000), 1024U) << "the block itself is still recorded";
}

TEST(LentBlockTable, NeverAnswersWithAnotherBlocksSize) {
  // Far more blocks than entries: many share an entry. A claim says a block's own size or
  // nothing, never that of the block that took its entry.
  lent_block_table table;
  constexpr std::uintptr_t kBase = 0x7f0000000000;
  constexpr std::size_t kBlocks = 8 * (std::size_t{1} << lent_block_table::kDefaultEntryBits);
  const auto size_of = [](std::size_t i) { return 256 * (1 + i % 4096); };
  for (std::size_t i = 0; i < kBlocks; ++i)
    table.record(kBase + 256 * i, size_of(i));
  std::size_t found = 0;
  for (std::size_t i = 0; i < kBlocks; ++i) {
    const std::size_t size = table.claim(kBase + 256 * i);
    if (size == 0) continue;
    ++found;
    EXPECT_EQ(size, size_of(i)) << i;
  }
  EXPECT_GT(found, (std::size_t{1} << lent_block_table::kDefaultEntryBits) / 2);
  EXPECT_LE(found, std::size_t{1} << lent_block_table::kDefaultEntryBits);
}

TEST(LentBlockTable, ALargerTableFindsMoreOfManyBlocks) {
  // 16 Ki blocks at once (16 threads with a thousand each in the shim's quarantine): a table
  // of 2^14 entries loses many to collisions, one of 2^18 few.
  constexpr std::uintptr_t kBase = 0x7f0000000000;
  constexpr std::size_t kBlocks = std::size_t{1} << 14;
  const auto found_of = [&](lent_block_table& table) {
    for (std::size_t i = 0; i < kBlocks; ++i)
      table.record(kBase + 4096 * i, 512);
    std::size_t found = 0;
    for (std::size_t i = 0; i < kBlocks; ++i)
      found += table.claim(kBase + 4096 * i) == 512;
    return found;
  };
  lent_block_table small;
  lent_block_table large{18};
  const std::size_t found_small = found_of(small);
  const std::size_t found_large = found_of(large);
  EXPECT_LT(found_small, kBlocks * 3 / 4);
  EXPECT_GT(found_large, kBlocks * 9 / 10);
}

TEST(LentBlockTable, RecordsOnlyWhatAnEntryHolds) {
  lent_block_table table;
  table.record(0x7f0000001080, 256);  // not a multiple of 256
  EXPECT_EQ(table.claim(0x7f0000001080), 0U);
  table.record(0x7f0000001000, 300);
  EXPECT_EQ(table.claim(0x7f0000001000), 0U);
  table.record(0x7f0000001000, 0);
  EXPECT_EQ(table.claim(0x7f0000001000), 0U);
  table.record(std::uintptr_t{1} << 49, 256);  // beyond 48-bit addresses
  EXPECT_EQ(table.claim(std::uintptr_t{1} << 49), 0U);
  table.record(0x7f0000001000, std::size_t{16} << 30);  // larger than an entry's size field
  EXPECT_EQ(table.claim(0x7f0000001000), 0U);
}

TEST(LentBlockTable, ThreadsRecordAndClaimTheirOwnBlocks) {
  lent_block_table table;
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<int> wrong(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::uintptr_t base = 0x7f0000000000 + (std::uintptr_t{1} << 32) * t;
      for (std::uintptr_t i = 0; i < 100000; ++i) {
        const std::uintptr_t address = base + 256 * (i % 64);
        table.record(address, 256 * (1 + t));
        const std::size_t size = table.claim(address);
        if (size != 0 && size != 256U * (1 + t)) ++wrong[t];
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(wrong, std::vector<int>(kThreads, 0));
}

}  // namespace
