# Helpers that register tests with the labels and environment of their platform.

# gpumem_add_platform_test(<test name> <sim|gpu> COMMAND <cmd> [args...] [ENVIRONMENT k=v...])
# A sim test finds the simulator first on LD_LIBRARY_PATH; a gpu test that exits 77 is
# reported as skipped. A sim test never skips: there 77 is a failure like any other status.
function(gpumem_add_platform_test name platform)
  cmake_parse_arguments(arg "" "" "COMMAND;ENVIRONMENT" ${ARGN})
  add_test(NAME ${name} COMMAND ${arg_COMMAND})
  set_tests_properties(${name} PROPERTIES
    LABELS ${platform}
    ENVIRONMENT "GPUMEM_TEST_TARGET=${platform};${arg_ENVIRONMENT}"
    TIMEOUT 600)
  if(platform STREQUAL "gpu")
    # One GPU test at a time: tests that fill or exhaust device memory must not starve others.
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK gpu_device SKIP_RETURN_CODE 77)
  endif()
  if(platform STREQUAL "sim")
    set_tests_properties(${name} PROPERTIES
      ENVIRONMENT_MODIFICATION "LD_LIBRARY_PATH=path_list_prepend:${GPUMEM_SIMULATOR_DIR}")
  endif()
endfunction()

# gpumem_add_checked_test(<test name> <sim|gpu> COMMAND <cmd> [args...] [STATUS <n>]
#                         [OUTPUT <regex>...] [NO_OUTPUT <regex>...] [PRELOAD] [ENVIRONMENT k=v...])
# A platform test whose program must end with exit status STATUS (default 0) AND print every
# OUTPUT and no NO_OUTPUT (Python's re syntax, over stdout and stderr together; '.' matches
# newlines, ^ and $ match at each line). ctest's PASS_REGULAR_EXPRESSION would ignore the exit
# status; tests/support/expect_run.py checks both. PRELOAD puts the shim into the program (not
# into the checking script). A gpu test skips only when its program exits 77 saying
# "SKIPPED: <why>" (gpu_or_skip, where there is no GPU). A COMMAND that starts with a target
# runs that target's file.
function(gpumem_add_checked_test name platform)
  cmake_parse_arguments(arg "PRELOAD" "STATUS" "COMMAND;OUTPUT;NO_OUTPUT;ENVIRONMENT" ${ARGN})
  if(NOT arg_OUTPUT)
    message(FATAL_ERROR "gpumem_add_checked_test(${name}): name at least one OUTPUT")
  endif()
  if(NOT DEFINED arg_STATUS)
    set(arg_STATUS 0)
  endif()
  set(checks "--status=${arg_STATUS}")
  foreach(pattern IN LISTS arg_OUTPUT)
    list(APPEND checks "--output=${pattern}")
  endforeach()
  foreach(pattern IN LISTS arg_NO_OUTPUT)
    list(APPEND checks "--no-output=${pattern}")
  endforeach()
  if(arg_PRELOAD)
    list(APPEND checks "--env=LD_PRELOAD=$<TARGET_FILE:gpumem_preload>")
  endif()
  if(platform STREQUAL "gpu")
    list(APPEND checks --skip-status=77)
  endif()
  list(POP_FRONT arg_COMMAND program)
  if(TARGET ${program})
    set(program "$<TARGET_FILE:${program}>")
  endif()
  gpumem_add_platform_test(${name} ${platform}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/support/expect_run.py ${checks}
            -- ${program} ${arg_COMMAND}
    ENVIRONMENT ${arg_ENVIRONMENT})
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

# gpumem_cuda_program(<target> <source> <Static|Shared>)
# A CUDA program built as users build it, with the given CUDA runtime (nvcc's default is Static).
function(gpumem_cuda_program target source runtime)
  add_executable(${target} ${source})
  set_target_properties(${target} PROPERTIES CUDA_RUNTIME_LIBRARY ${runtime})
  gpumem_target_defaults(${target})
endfunction()
