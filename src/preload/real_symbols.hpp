#pragma once
// The functions the preload stands in front of, found without going through itself: glibc's
// dlsym, and the next definition of a symbol after the preload (the real CUDA runtime's).

namespace gpumem::preload {

/// glibc's dlsym (dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34"), or GLIBC_2.2.5 before 2.34).
using dlsym_function = void* (*)(void* handle, const char* symbol);
dlsym_function real_dlsym();

/// The definition of `name` in the objects loaded after the preload, or null.
void* next_symbol(const char* name);

}  // namespace gpumem::preload

extern "C" {
/// The real dlsym, once resolved; the dlsym trampoline jumps to it for RTLD_NEXT lookups.
__attribute__((visibility("hidden"))) extern void* gpumem_real_dlsym_pointer;
/// Resolves gpumem_real_dlsym_pointer and returns it.
__attribute__((visibility("hidden"))) void* gpumem_resolve_real_dlsym();
/// dlsym for every handle but RTLD_NEXT: the real lookup, with the preload's wrappers
/// returned for the driver functions it interposes.
__attribute__((visibility("hidden"))) void* gpumem_dlsym_override(void* handle, const char* symbol);
}
