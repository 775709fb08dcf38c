# The torture test (tests/programs/torture.cu): threads on every kind of stream, every
# allocation call, fill and verify kernels, frees while writers run. Built with each CUDA
# runtime (run plain and under the shim with each free policy and each file in config/) and
# against the library's resources. These are the short runs; scripts/torture.sh runs the long
# ones (millions of operations, several seeds).
set(GPUMEM_TORTURE_OPS 16000 CACHE STRING "operations of each torture run in the gpu suite")

gpumem_cuda_program(torture_static programs/torture.cu Static)
gpumem_cuda_program(torture_shared programs/torture.cu Shared)
add_executable(torture_library programs/torture.cu)
target_compile_definitions(torture_library PRIVATE GPUMEM_TORTURE_LIBRARY)
target_link_libraries(torture_library PRIVATE gpumem)
# Function names in the crash handler's stack.
set_target_properties(torture_library torture_static torture_shared PROPERTIES ENABLE_EXPORTS ON)
foreach(target IN ITEMS torture_library torture_static torture_shared)
  target_link_libraries(${target} PRIVATE ${CMAKE_DL_LIBS})  # dlsym: is the preload loaded?
endforeach()
gpumem_target_defaults(torture_library)

function(gpumem_torture_test name target)
  cmake_parse_arguments(arg "PRELOAD" "" "ARGS;ENVIRONMENT" ${ARGN})
  set(preload)
  if(arg_PRELOAD)
    set(preload PRELOAD)
    list(APPEND arg_ARGS --expect-shim)
  endif()
  # The program's verdict (exit 0: clean, or the expected corruption seen) and its summary
  # line, so a crash, a hang (the watchdog exits 3) or an early exit cannot pass.
  gpumem_add_checked_test(gpu.torture_${name} gpu ${preload}
    COMMAND gpu_or_skip $<TARGET_FILE:${target}> --ops ${GPUMEM_TORTURE_OPS} --stall-seconds 60 ${arg_ARGS}
    OUTPUT "^torture: (clean|corruption detected, as expected)$"
    NO_OUTPUT "torture: FAILED"
    ENVIRONMENT ${arg_ENVIRONMENT})
endfunction()

file(GLOB gpumem_torture_configs ${PROJECT_SOURCE_DIR}/config/*.toml)
foreach(runtime static shared)
  set(program torture_${runtime})
  # Plain CUDA, and the positive control: an injected overwrite must be seen.
  gpumem_torture_test(${runtime}_plain ${program})
  gpumem_torture_test(${runtime}_plain_positive_control ${program} ARGS --inject)
  foreach(policy quarantine synchronize)
    gpumem_torture_test(${runtime}_shim_${policy} ${program}
      PRELOAD ENVIRONMENT GPUMEM_FREE_POLICY=${policy})
  endforeach()
  gpumem_torture_test(${runtime}_shim_positive_control ${program} ARGS --inject PRELOAD)
  # The negative control: the documented-unsafe policy reuses freed memory at once, and the
  # torture test must catch it.
  gpumem_torture_test(${runtime}_shim_unsafe_policy_is_caught ${program} ARGS --expect-corruption
    PRELOAD ENVIRONMENT GPUMEM_FREE_POLICY=stream_ordered)
  # Threads spread over every device there is (one on a one-GPU machine), some freeing with
  # another device current: each device's blocks go back to its own stack.
  gpumem_torture_test(${runtime}_plain_all_devices ${program} ARGS --devices 0)
  gpumem_torture_test(${runtime}_shim_quarantine_all_devices ${program} ARGS --devices 0 PRELOAD)
  foreach(config IN LISTS gpumem_torture_configs)
    get_filename_component(config_name ${config} NAME_WE)
    gpumem_torture_test(${runtime}_shim_config_${config_name} ${program}
      PRELOAD ENVIRONMENT GPUMEM_CONFIG=${config} GPUMEM_REPORT=off)
  endforeach()
endforeach()

foreach(resource cuda cuda_async pool pool_growing pool_expandable arena binning fixed_size statistics limiting
                 tracking thread_safe)
  gpumem_torture_test(library_${resource} torture_library ARGS --resource ${resource})
endforeach()
gpumem_torture_test(library_pool_positive_control torture_library ARGS --resource pool --inject)
