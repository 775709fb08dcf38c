// Code written the way RMM's own tests and RMM users write it: it reopens `namespace rmm`,
// `namespace rmm::mr` and `namespace rmm::test`, defines a resource inside rmm::mr, and mixes
// the rmm and gpumem spellings of one type. Compiled only against include/rmm/ (with an alias
// `namespace rmm = gpumem;` none of this compiles). On the simulator and on the GPU.

#include <cstddef>
#include <cstdio>
#include <rmm/cuda_stream_view.hpp>
#include <rmm/device_buffer.hpp>
#include <rmm/mr/device/cuda_memory_resource.hpp>
#include <rmm/mr/device/device_memory_resource.hpp>
#include <rmm/mr/device/pool_memory_resource.hpp>
#include <type_traits>

namespace rmm::mr {

/// A resource of the program's own, declared in RMM's namespace as RMM's tests declare theirs.
class counting_resource final : public device_memory_resource {
 public:
  explicit counting_resource(device_memory_resource* upstream) : upstream_{upstream} {}
  [[nodiscard]] int allocations() const { return allocations_; }

 private:
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override {
    ++allocations_;
    return upstream_->allocate(bytes, stream);
  }
  void do_deallocate(void* pointer, std::size_t bytes, cuda_stream_view stream) noexcept override {
    upstream_->deallocate(pointer, bytes, stream);
  }
  device_memory_resource* upstream_;
  int allocations_ = 0;
};

}  // namespace rmm::mr

namespace rmm {
/// A helper a program adds to RMM's namespace.
inline std::size_t twice(std::size_t bytes) {
  return 2 * bytes;
}
}  // namespace rmm

namespace rmm::test {
struct fixture {
  mr::cuda_memory_resource cuda;
  mr::pool_memory_resource<mr::cuda_memory_resource> pool{&cuda, 1 << 20};
};
}  // namespace rmm::test

// One type under both names.
static_assert(std::is_same_v<rmm::device_buffer, gpumem::device_buffer>);
static_assert(std::is_same_v<rmm::cuda_stream_view, gpumem::cuda_stream_view>);
static_assert(std::is_same_v<rmm::mr::pool_memory_resource<rmm::mr::cuda_memory_resource>,
                             gpumem::mr::pool_memory_resource<gpumem::mr::cuda_memory_resource>>);
static_assert(std::is_base_of_v<gpumem::mr::device_memory_resource, rmm::mr::counting_resource>);

// Both namespaces used at once name one entity: not ambiguous.
using namespace rmm;
using namespace gpumem;

int main() {
  rmm::test::fixture fixture;
  rmm::mr::counting_resource counting{&fixture.pool};
  device_buffer buffer{rmm::twice(512), cuda_stream_default, &counting};
  const gpumem::device_buffer& same = buffer;
  if (counting.allocations() != 1 || same.size() != 1024) {
    std::printf("rmm namespaces: FAILED (%d allocations, %zu bytes)\n",
                counting.allocations(),
                same.size());
    return 1;
  }
  std::printf("rmm namespaces: ok\n");
  return 0;
}
