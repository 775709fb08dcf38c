#include "preload/context_tracking.hpp"

namespace gpumem::preload::context_tracking {

std::array<std::atomic<CUcontext>, kMaxDevices> primary_contexts{};

// Initial-exec: read on every interposed call, and the preload is loaded at start-up, so the
// variable sits in the static TLS block instead of behind __tls_get_addr.
constinit __attribute__((tls_model("initial-exec"))) thread_local context_device last_context;

void forget_all_primary_contexts() noexcept {
  for (auto& context : primary_contexts)
    context.store(nullptr);
}

}  // namespace gpumem::preload::context_tracking
