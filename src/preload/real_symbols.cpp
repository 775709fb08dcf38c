#include "preload/real_symbols.hpp"

#include <dlfcn.h>

void* gpumem_real_dlsym_pointer = nullptr;

void* gpumem_resolve_real_dlsym() {
  void* found = gpumem_real_dlsym_pointer;
  if (found != nullptr) return found;
  // dlvsym is not interposed, and RTLD_NEXT from here means "after the preload": libc.
  found = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
  if (found == nullptr) found = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
  __atomic_store_n(&gpumem_real_dlsym_pointer, found, __ATOMIC_RELEASE);
  return found;
}

namespace gpumem::preload {

dlsym_function real_dlsym() {
  return reinterpret_cast<dlsym_function>(gpumem_resolve_real_dlsym());
}

void* next_symbol(const char* name) {
  return real_dlsym()(RTLD_NEXT, name);
}

}  // namespace gpumem::preload
