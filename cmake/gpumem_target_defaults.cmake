# Compiler settings shared by every gpumem target: C++20, warnings (as errors by default),
# hidden symbols unless a target exports them on purpose.
function(gpumem_target_defaults target)
  set(host_warnings -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
      -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
  if(GPUMEM_WARNINGS_AS_ERRORS)
    list(APPEND host_warnings -Werror)
  endif()
  # GCC 12 at -O3 (Release) warns that std::string's `"text" + string` may overlap itself
  # (GCC bug 105651, a false positive, fixed in GCC 13): kept a warning, never an error.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    list(APPEND host_warnings -Wno-error=restrict)
  endif()
  string(JOIN "," cuda_host_warnings ${host_warnings})
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${host_warnings}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra$<$<BOOL:${GPUMEM_WARNINGS_AS_ERRORS}>:,-Werror>>
    $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${GPUMEM_WARNINGS_AS_ERRORS}>>:-Werror=all-warnings>)
  set_target_properties(${target} PROPERTIES
    CXX_VISIBILITY_PRESET hidden
    CUDA_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
endfunction()
