# Helpers that register tests with the labels and environment of their platform.

# gpumem_add_platform_test(<test name> <sim|gpu> COMMAND <cmd> [args...] [ENVIRONMENT k=v...])
# A sim test finds the simulator first on LD_LIBRARY_PATH; a gpu test that exits 77 is
# reported as skipped.
function(gpumem_add_platform_test name platform)
  cmake_parse_arguments(arg "" "" "COMMAND;ENVIRONMENT" ${ARGN})
  add_test(NAME ${name} COMMAND ${arg_COMMAND})
  set_tests_properties(${name} PROPERTIES
    LABELS ${platform}
    ENVIRONMENT "GPUMEM_TEST_TARGET=${platform};${arg_ENVIRONMENT}"
    SKIP_RETURN_CODE 77
    TIMEOUT 600)
  if(platform STREQUAL "gpu")
    # One GPU test at a time: tests that fill or exhaust device memory must not starve others.
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK gpu_device)
  endif()
  if(platform STREQUAL "sim")
    set_tests_properties(${name} PROPERTIES
      ENVIRONMENT_MODIFICATION "LD_LIBRARY_PATH=path_list_prepend:${GPUMEM_SIMULATOR_DIR}")
  endif()
endfunction()

# gpumem_cuda_test(<target> SOURCES ... [LINK ...] PLATFORMS sim|gpu... [ARGS ...] [ENVIRONMENT ...])
# A GoogleTest program with gpumem's test main, registered once per platform as
# <platform>.<target>.
function(gpumem_cuda_test target)
  cmake_parse_arguments(arg "" "" "SOURCES;LINK;PLATFORMS;ARGS;ENVIRONMENT" ${ARGN})
  add_executable(${target} ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE gpumem_test_support ${arg_LINK})
  gpumem_target_defaults(${target})
  foreach(platform IN LISTS arg_PLATFORMS)
    gpumem_add_platform_test(${platform}.${target} ${platform}
      COMMAND ${target} ${arg_ARGS} ENVIRONMENT ${arg_ENVIRONMENT})
  endforeach()
endfunction()

# gpumem_unit_test(<target> SOURCES ... [LINK ...]): host-only GoogleTest program, label unit.
function(gpumem_unit_test target)
  cmake_parse_arguments(arg "" "" "SOURCES;LINK" ${ARGN})
  add_executable(${target} ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE GTest::gtest_main ${arg_LINK})
  gpumem_target_defaults(${target})
  add_test(NAME unit.${target} COMMAND ${target})
  set_tests_properties(unit.${target} PROPERTIES LABELS unit TIMEOUT 600)
endfunction()
