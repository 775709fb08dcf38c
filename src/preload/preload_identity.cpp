// The preload's identity: a version a program or test can look up with dlsym to know that
// libgpumem_preload.so is loaded.

#define GPUMEM_PRELOAD_EXPORT extern "C" __attribute__((visibility("default")))

/// The version of the loaded preload, "major.minor.patch".
GPUMEM_PRELOAD_EXPORT const char* gpumem_preload_version() {
  return GPUMEM_VERSION_STRING;
}
