#include "mr/stream_ordered_free_lists.hpp"

#include "gpumem/detail/error_macros.hpp"

namespace gpumem::mr::detail {

stream_ordered_free_lists::~stream_ordered_free_lists() {
  for (const auto& entry : entries_) {
    if (entry->event != nullptr) GPUMEM_ASSERT_CUDA_SUCCESS(cudaEventDestroy(entry->event));
  }
}

stream_ordered_free_lists::stream_entry& stream_ordered_free_lists::entry_for(cuda_stream_view stream) {
  const bool per_thread = stream.value() == cudaStreamPerThread;
  const std::thread::id thread = per_thread ? std::this_thread::get_id() : std::thread::id{};
  if (last_ != nullptr && last_->stream == stream.value() && last_->thread == thread) return *last_;
  for (const auto& entry : entries_) {
    if (entry->stream == stream.value() && entry->thread == thread) {
      last_ = entry.get();
      return *last_;
    }
  }
  auto created = std::make_unique<stream_entry>();
  created->stream = stream.value();
  created->thread = thread;
  created->per_thread = per_thread;
  entries_.push_back(std::move(created));
  last_ = entries_.back().get();
  return *last_;
}

cudaEvent_t stream_ordered_free_lists::make_event() {
  cudaEvent_t event = nullptr;
  GPUMEM_CUDA_TRY(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  return event;
}

void stream_ordered_free_lists::note_free(stream_entry& entry) {
  if (!entry.per_thread) return;
  if (entry.event == nullptr) entry.event = make_event();
  GPUMEM_CUDA_TRY(cudaEventRecord(entry.event, entry.stream));
}

void stream_ordered_free_lists::order_after(stream_entry& entry, cuda_stream_view waiter) {
  if (entry.event == nullptr) entry.event = make_event();
  // A per-thread default stream recorded its event at its last free; any other stream
  // records now, which covers every free made on it so far.
  if (!entry.per_thread) GPUMEM_CUDA_TRY(cudaEventRecord(entry.event, entry.stream));
  GPUMEM_CUDA_TRY(cudaStreamWaitEvent(waiter.value(), entry.event, 0));
}

}  // namespace gpumem::mr::detail
