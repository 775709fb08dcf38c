#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "core/address_map.hpp"

namespace {

TEST(AddressMap, InsertFindTake) {
  gpumem::core::address_map<int> map;
  map.insert(0x1000, 1);
  map.insert(0x2000, 2);
  EXPECT_EQ(map.find(0x1000), 1);
  EXPECT_EQ(map.find(0x3000, -1), -1);
  EXPECT_EQ(map.take(0x1000), 1);
  EXPECT_EQ(map.find(0x1000, -1), -1);
  EXPECT_EQ(map.take(0x1000, -1), -1);
  EXPECT_EQ(map.size(), 1U);
}

TEST(AddressMap, AgreesWithAReferenceUnderRandomOperations) {
  gpumem::core::address_map<std::uint64_t> map;
  std::unordered_map<std::uintptr_t, std::uint64_t> reference;
  std::mt19937_64 random{42};
  // Few distinct keys, so probe runs collide, wrap and shift often; growth happens too.
  for (int step = 0; step < 200000; ++step) {
    const std::uintptr_t key = (random() % 5000 + 1) * 256;
    switch (random() % 3) {
      case 0: {
        const std::uint64_t value = random();
        map.insert(key, value);
        reference[key] = value;
        break;
      }
      case 1: {
        const auto it = reference.find(key);
        const std::uint64_t expected = it == reference.end() ? 0 : it->second;
        ASSERT_EQ(map.take(key), expected) << "step " << step;
        reference.erase(key);
        break;
      }
      default: {
        const auto it = reference.find(key);
        ASSERT_EQ(map.find(key), it == reference.end() ? 0 : it->second) << "step " << step;
      }
    }
    ASSERT_EQ(map.size(), reference.size());
  }
  std::size_t visited = 0;
  map.for_each([&](std::uintptr_t key, std::uint64_t value) {
    ++visited;
    EXPECT_EQ(reference.at(key), value);
  });
  EXPECT_EQ(visited, reference.size());
}

}  // namespace
