# The shim, run under LD_PRELOAD over programs built as users build them.
function(gpumem_preload_test name platform target)
  cmake_parse_arguments(arg "" "" "ARGS;ENVIRONMENT" ${ARGN})
  gpumem_add_platform_test(${platform}.${name} ${platform} COMMAND ${target} ${arg_ARGS}
    ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:gpumem_preload>" ${arg_ENVIRONMENT})
endfunction()

add_executable(test_preload_runtime preload/test_preload_runtime.cpp)
target_link_libraries(test_preload_runtime PRIVATE gpumem_test_support CUDA::cudart CUDA::toolkit)
gpumem_target_defaults(test_preload_runtime)

add_executable(test_preload_driver preload/test_preload_driver.cpp)
target_link_libraries(test_preload_driver PRIVATE gpumem_test_support gpumem_driver_entry_points)
gpumem_target_defaults(test_preload_driver)

add_executable(preload_exit_program preload/exit_program.cpp)
target_link_libraries(preload_exit_program PRIVATE CUDA::cudart)
gpumem_target_defaults(preload_exit_program)

foreach(platform sim gpu)
  set(others "*BypassSize*:*Limit*:*EachDevice*:*WarningsAreBounded*:*DuringCapture*:*DeviceReset*:*PeerAccess*:*MemPoolAccess*:*NoBytes*:*BeforeTheFirstCapture*")
  gpumem_preload_test(preload_runtime ${platform} test_preload_runtime
    ARGS "--gtest_filter=-${others}:*BarrierThread*")
  # The same with every barrier on the shim's barrier thread, and what needs it; each capture
  # test alone in its process (a capture the shim saw earlier would hide one it did not see).
  gpumem_preload_test(preload_runtime_barrier_thread ${platform} test_preload_runtime
    ARGS "--gtest_filter=-${others}:*BarrierThreadLeaves*" ENVIRONMENT GPUMEM_BARRIER_THREAD=on)
  foreach(capture AnotherThreadsCapture ACaptureIntoAGraph)
    gpumem_preload_test(preload_barrier_thread_leaves_${capture} ${platform} test_preload_runtime
      ARGS "--gtest_filter=*BarrierThreadLeaves${capture}Valid" ENVIRONMENT GPUMEM_BARRIER_THREAD=on)
  endforeach()
  # Alone in its process: an earlier capture would make every stream-ordered request ask. (It
  # counts driver calls: the simulator only.)
  if(platform STREQUAL "sim")
    gpumem_preload_test(preload_no_capture_question ${platform} test_preload_runtime
      ARGS "--gtest_filter=*BeforeTheFirstCapture*")
  endif()
  gpumem_preload_test(preload_device_reset ${platform} test_preload_runtime ARGS "--gtest_filter=*DeviceReset*"
    ENVIRONMENT GPUMEM_REPORT=text)
  gpumem_preload_test(preload_capture_barrier ${platform} test_preload_runtime
    ARGS "--gtest_filter=*DuringCapture*" ENVIRONMENT GPUMEM_QUARANTINE_BLOCKS=1)
  gpumem_preload_test(preload_warnings_bounded ${platform} test_preload_runtime ARGS "--gtest_filter=*WarningsAreBounded*")
  gpumem_preload_test(preload_runtime_devices ${platform} test_preload_runtime
    ARGS "--gtest_filter=*EachDevice*" ENVIRONMENT GPUMEM_SIM_DEVICES=2 GPUMEM_REPORT=text)
  gpumem_preload_test(preload_peer_access ${platform} test_preload_runtime
    ARGS "--gtest_filter=*PeerAccess*" ENVIRONMENT GPUMEM_SIM_DEVICES=2)
  # In a process of its own: peer access enabled by the test above would grant it already.
  gpumem_preload_test(preload_mem_pool_access ${platform} test_preload_runtime
    ARGS "--gtest_filter=*MemPoolAccess*" ENVIRONMENT GPUMEM_SIM_DEVICES=2)
endforeach()
# A quarantine_size set to 0 is a fixed limit (a barrier at every free), not the default.
gpumem_preload_test(preload_quarantine_of_no_bytes sim test_preload_runtime
  ARGS "--gtest_filter=*NoBytes*" ENVIRONMENT GPUMEM_QUARANTINE_SIZE=0)
# A driver before cuStreamGetDevice (CUDA 12.8): a free on another device's stream is still
# found (through the stream's context) and waited for.
gpumem_preload_test(preload_mem_pool_access_older_driver sim test_preload_runtime
  ARGS "--gtest_filter=*MemPoolAccess*"
  ENVIRONMENT GPUMEM_SIM_DEVICES=2 GPUMEM_SIM_MISSING_ENTRY_POINTS=cuStreamGetDevice)
foreach(platform sim gpu)
  gpumem_preload_test(preload_runtime_bypass ${platform} test_preload_runtime
    ARGS "--gtest_filter=*BypassSize*" ENVIRONMENT GPUMEM_BYPASS_ABOVE=1MiB)
  gpumem_preload_test(preload_runtime_limit ${platform} test_preload_runtime
    ARGS "--gtest_filter=*Limit*" ENVIRONMENT GPUMEM_STACK=limit,pool,cuda GPUMEM_LIMIT_SIZE=64MiB)
  gpumem_preload_test(preload_driver ${platform} test_preload_driver)
endforeach()
# The program ends normally (exit status 0, no crash in the free after the report), and the
# report counts both allocations.
gpumem_add_checked_test(sim.preload_exit sim COMMAND preload_exit_program PRELOAD
  OUTPUT "^exit_program: done$.*^gpumem: gpumem report .*^gpumem:     calls: allocations 2, "
  ENVIRONMENT GPUMEM_REPORT=text)
gpumem_add_checked_test(gpu.preload_exit gpu COMMAND gpu_or_skip $<TARGET_FILE:preload_exit_program> PRELOAD
  OUTPUT "^exit_program: done$.*^gpumem: gpumem report .*^gpumem:     calls: allocations 2, "
  ENVIRONMENT GPUMEM_REPORT=text)
# The debug log (spdlog, every line "gpumem: ...") at level info names each device's stack.
gpumem_add_checked_test(sim.preload_debug_log sim COMMAND preload_exit_program PRELOAD
  OUTPUT "gpumem: device 0 \\([^)]+\\): stack pool > expandable$.*^exit_program: done$"
  ENVIRONMENT GPUMEM_DEBUG_LEVEL=info)
# Asking for memory information builds no stack (a stack takes its initial size from the
# device), yet a configured limit is already the total.
foreach(platform sim gpu)
  set(program preload_exit_program)
  if(platform STREQUAL "gpu")
    set(program gpu_or_skip $<TARGET_FILE:preload_exit_program>)
  endif()
  gpumem_add_checked_test(${platform}.preload_memory_info_builds_no_stack ${platform}
    COMMAND ${program} --memory-info-only PRELOAD
    OUTPUT "^exit_program: memory info only: [0-9]+ of [0-9]+ bytes free$"
    NO_OUTPUT "stack pool" "calls: allocations [1-9]"
    ENVIRONMENT GPUMEM_DEBUG_LEVEL=info GPUMEM_REPORT=text)
  gpumem_add_checked_test(${platform}.preload_memory_info_limit_before_any_allocation ${platform}
    COMMAND ${program} --memory-info-only PRELOAD
    OUTPUT "^exit_program: memory info only: [0-9]+ of 67108864 bytes free$"
    NO_OUTPUT "stack limit"
    ENVIRONMENT GPUMEM_DEBUG_LEVEL=info GPUMEM_STACK=limit,pool,cuda GPUMEM_LIMIT_SIZE=64MiB)
endforeach()
# The JSON report: one file named with the pid, counts that match what the program did.
gpumem_add_platform_test(sim.preload_json_report sim
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/preload/check_json_report.py $<TARGET_FILE:gpumem_preload>
          $<TARGET_FILE:preload_exit_program>)
gpumem_add_platform_test(gpu.preload_json_report gpu
  COMMAND gpu_or_skip ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/preload/check_json_report.py
          $<TARGET_FILE:gpumem_preload> $<TARGET_FILE:preload_exit_program>)
# A free the quarantine holds is logged when the program makes it, once.
gpumem_add_platform_test(sim.preload_free_logged_at_once sim
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/preload/check_free_logged_at_once.py
          $<TARGET_FILE:gpumem_preload> $<TARGET_FILE:preload_exit_program>)
gpumem_add_platform_test(gpu.preload_free_logged_at_once gpu
  COMMAND gpu_or_skip ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/preload/check_free_logged_at_once.py
          $<TARGET_FILE:gpumem_preload> $<TARGET_FILE:preload_exit_program>)

# Reports while the program runs: a snapshot survives a killed job, a signal asks for one.
foreach(platform IN ITEMS sim gpu)
  set(gpumem_check_command ${Python3_EXECUTABLE})
  if(platform STREQUAL "gpu")
    set(gpumem_check_command gpu_or_skip ${Python3_EXECUTABLE})
  endif()
  gpumem_add_platform_test(${platform}.preload_killed_job_report ${platform}
    COMMAND ${gpumem_check_command} ${CMAKE_CURRENT_SOURCE_DIR}/preload/check_killed_job_report.py
            $<TARGET_FILE:gpumem_preload> $<TARGET_FILE:preload_exit_program>
            $<TARGET_FILE:gpumem_command>)
endforeach()
# A configuration that is not valid: by default the shim names the problem and stops the
# program (exit status 1) at its first CUDA call, before it prints anything; with
# GPUMEM_ON_ERROR=warn it names the problem, says so, and the program runs to its end on CUDA.
gpumem_add_checked_test(sim.preload_invalid_config sim COMMAND preload_exit_program PRELOAD STATUS 1
  OUTPUT "gpumem: GPUMEM_STACK[^\n]*no memory source.*the configuration is not valid: stopping"
  NO_OUTPUT "exit_program: done" "every allocation goes to CUDA unchanged"
  ENVIRONMENT GPUMEM_STACK=pool)
gpumem_add_checked_test(sim.preload_invalid_config_warn sim COMMAND preload_exit_program PRELOAD
  OUTPUT "gpumem: GPUMEM_STACK[^\n]*no memory source.*the configuration is not valid: every allocation goes to CUDA unchanged$.*^exit_program: done$"
  NO_OUTPUT "stopping"
  ENVIRONMENT GPUMEM_STACK=pool GPUMEM_ON_ERROR=warn)

# A stack that cannot be built for the device (an initial pool larger than the device, which
# gpumem check also rejects): on_error decides, as for any configuration that is not valid.
gpumem_add_checked_test(sim.preload_unbuildable_stack_stops sim COMMAND preload_exit_program PRELOAD
  STATUS 1
  OUTPUT "initial_size 2.0 GiB exceeds the device's 1.0 GiB.*the stack cannot be built: [^\n]*: stopping"
  NO_OUTPUT "exit_program: done"
  ENVIRONMENT GPUMEM_SIM_MEMORY=1GiB GPUMEM_STACK=pool,cuda GPUMEM_POOL_INITIAL_SIZE=2GiB)
gpumem_add_checked_test(sim.preload_unbuildable_stack_warn sim COMMAND preload_exit_program PRELOAD
  OUTPUT "the stack cannot be built, its allocations go to CUDA unchanged.*^exit_program: done$.*^gpumem: gpumem report"
  ENVIRONMENT GPUMEM_SIM_MEMORY=1GiB GPUMEM_STACK=pool,cuda GPUMEM_POOL_INITIAL_SIZE=2GiB
              GPUMEM_ON_ERROR=warn GPUMEM_REPORT=text)

# The leak report: blocks a tracking layer holds at exit, grouped by where they were allocated
# (the program's frames), or with the hint to turn stack traces on.
gpumem_add_checked_test(sim.preload_leak_report sim COMMAND preload_exit_program PRELOAD
  OUTPUT "^gpumem:     still allocated: blocks 2, size 1.0 MiB, places 2$"
         "^gpumem:       blocks 1: size 1.0 MiB$"
         "^gpumem:         allocated at:$"
         "^gpumem:           #[0-9]+ [^\n]*preload_exit_program"
  NO_OUTPUT "libgpumem_preload.so\\("
  ENVIRONMENT GPUMEM_STACK=tracking,pool,expandable GPUMEM_TRACKING_STACK_TRACES=true
              GPUMEM_REPORT=text)
gpumem_add_checked_test(sim.preload_leak_report_without_traces sim COMMAND preload_exit_program
  PRELOAD
  OUTPUT "^gpumem:     still allocated: blocks 2, size 1.0 MiB, places 1$"
         "^gpumem:       blocks 2: size 1.0 MiB, allocated at unknown: set \\[device.tracking\\] stack_traces = true to see where$"
  ENVIRONMENT GPUMEM_STACK=tracking,pool,expandable GPUMEM_REPORT=text)

# Problems a running program may ignore (a stray variable; pool options an override left
# without a pool) are warnings at run time: the program runs under the shim.
gpumem_add_checked_test(sim.preload_tolerable_config sim COMMAND preload_exit_program PRELOAD
  OUTPUT "gpumem: GPUMEM_FOO='1': unknown variable[^\n]*\\(ignored: `gpumem check` reports it\\)$"
         "initial_size is set, but the \\[device\\] stack \\(arena, cuda\\) has no pool \\(ignored"
         "^exit_program: done$.*stack arena > cuda, .*calls: allocations 2, "
  NO_OUTPUT "not valid"
  ENVIRONMENT GPUMEM_FOO=1 GPUMEM_CONFIG=${PROJECT_SOURCE_DIR}/config/pool.toml GPUMEM_STACK=arena,cuda
              GPUMEM_REPORT=text)

# On the GPU: a program built the way nvcc builds by default (static CUDA runtime), reached
# only through the driver level, and the non-blocking-stream free hazard under each policy.
gpumem_cuda_program(runtime_smoke_static programs/runtime_smoke.cu Static)
gpumem_add_checked_test(gpu.preload_static_runtime gpu
  COMMAND gpu_or_skip $<TARGET_FILE:runtime_smoke_static> --launch-kernel PRELOAD
  OUTPUT "^gpumem:     calls: allocations [1-9][0-9]*, " NO_OUTPUT "calls: allocations 0,"
  ENVIRONMENT GPUMEM_REPORT=text)

gpumem_cuda_program(free_hazard programs/free_hazard.cu Shared)
foreach(policy quarantine synchronize)
  gpumem_add_platform_test(gpu.preload_free_hazard_${policy} gpu COMMAND gpu_or_skip $<TARGET_FILE:free_hazard>
    ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:gpumem_preload>" GPUMEM_FREE_POLICY=${policy} GPUMEM_REPORT=text)
endforeach()
# The unsafe policy opens the hazard, and the program sees it: it must report corruption
# there, which shows it would catch a policy that lets freed memory be reused too early. It
# ends as it does on corruption (exit status 1, after its verdict), not by a crash or a CUDA
# error.
gpumem_add_checked_test(gpu.preload_free_hazard_unsafe_is_caught gpu
  COMMAND gpu_or_skip $<TARGET_FILE:free_hazard> PRELOAD STATUS 1
  OUTPUT "^free_hazard: round [0-9]: the reader saw .*^free_hazard: CORRUPTION$"
  NO_OUTPUT "free_hazard: CUDA error" "FAILED"
  ENVIRONMENT GPUMEM_FREE_POLICY=stream_ordered)

# gpumem run puts the preload in front of a program, with a configuration.
gpumem_add_checked_test(sim.gpumem_run sim
  COMMAND gpumem_command run --config ${PROJECT_SOURCE_DIR}/config/pool.toml -- $<TARGET_FILE:preload_exit_program>
  OUTPUT "^exit_program: done$.*stack statistics > pool > cuda, .*^gpumem:     calls: allocations 2, ")

# PyTorch (caching off: every tensor a cudaMalloc) and CuPy (static runtime, driver by dlsym)
# under the shim: same losses as plain, the program's own checks pass, allocations served.
foreach(framework pytorch cupy)
  gpumem_add_platform_test(gpu.preload_${framework} gpu
    COMMAND gpu_or_skip ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/gpu/run_under_shim.py ${framework}
            $<TARGET_FILE:gpumem_preload>)
endforeach()

# A device reset in the middle of a program, with each CUDA runtime: the shim's stack from
# before must not be used again.
foreach(runtime Shared Static)
  string(TOLOWER ${runtime} runtime_name)
  gpumem_cuda_program(device_reset_${runtime_name} programs/device_reset.cu ${runtime})
  gpumem_add_checked_test(gpu.preload_device_reset_${runtime_name}_runtime gpu
    COMMAND gpu_or_skip $<TARGET_FILE:device_reset_${runtime_name}> PRELOAD
    OUTPUT "^device_reset: ok$" NO_OUTPUT "FAILED"
    ENVIRONMENT GPUMEM_REPORT=text GPUMEM_DEBUG_LEVEL=info)
endforeach()
# (\x3b is the regex's semicolon: CMake would split the argument at a plain one.)
gpumem_add_checked_test(sim.preload_device_reset_program sim COMMAND device_reset_shared PRELOAD
  OUTPUT "device 0: reset\\x3b its stack is set aside.*^device_reset: ok$" NO_OUTPUT "FAILED"
  ENVIRONMENT GPUMEM_DEBUG_LEVEL=info)
# Each stack set aside carries the counts of those before it: after two resets the report
# counts every allocation once (2 before the resets, 3 after).
gpumem_add_checked_test(sim.preload_device_reset_twice_counts_once sim
  COMMAND device_reset_shared 2 PRELOAD
  OUTPUT "calls: allocations 5, frees 3," "^device_reset: ok$" NO_OUTPUT "FAILED"
  ENVIRONMENT GPUMEM_REPORT=text)

# A context the program creates (cuCtxCreate) is not the stacks': its allocations go to CUDA,
# so nothing the pool takes dies with it. The pool starts empty and frees return at once, so a
# stack that served the program's context would hand the destroyed context's memory out.
add_executable(user_context programs/user_context.cpp)
target_link_libraries(user_context PRIVATE CUDA::cuda_driver)
gpumem_target_defaults(user_context)
gpumem_add_checked_test(gpu.preload_user_context gpu
  COMMAND gpu_or_skip $<TARGET_FILE:user_context> PRELOAD
  OUTPUT "^user_context: ok$" "calls: allocations [1-9]" NO_OUTPUT "FAILED"
  ENVIRONMENT GPUMEM_POOL_INITIAL_SIZE=0 GPUMEM_FREE_POLICY=synchronize GPUMEM_REPORT=text)

# A driver that lacks an entry point: an optional one (cuStreamGetDevice, CUDA 12.8) costs
# nothing but is named; a required one turns the shim off with one line that names it, and
# the program gets CUDA's own answers (here the simulated runtime's, which needs it too: the
# program's first cudaMalloc fails and it exits 1, without a crash).
gpumem_add_checked_test(sim.preload_driver_lacks_an_optional_entry_point sim
  COMMAND preload_exit_program PRELOAD
  OUTPUT "^gpumem: the CUDA driver lacks cuStreamGetDevice: the shim works without them$"
         "^exit_program: done$" "calls: allocations 2, "
  ENVIRONMENT GPUMEM_SIM_MISSING_ENTRY_POINTS=cuStreamGetDevice GPUMEM_DEBUG_LEVEL=info GPUMEM_REPORT=text)
gpumem_add_checked_test(sim.preload_driver_lacks_a_required_entry_point sim
  COMMAND preload_exit_program PRELOAD STATUS 1
  OUTPUT "^gpumem: the CUDA driver lacks cuCtxSynchronize \\(required\\): the shim is off"
  NO_OUTPUT "calls: allocations [1-9]"
  ENVIRONMENT GPUMEM_SIM_MISSING_ENTRY_POINTS=cuCtxSynchronize GPUMEM_REPORT=text)

# compute-sanitizer sees a served block's overrun: the pool registers its slabs and blocks
# (NVTX's memory API). On the GPU only (the simulator has no sanitizer).
gpumem_cuda_program(overrun programs/overrun.cu Static)
add_executable(overrun_library programs/overrun.cu)
target_compile_definitions(overrun_library PRIVATE GPUMEM_OVERRUN_LIBRARY)
target_link_libraries(overrun_library PRIVATE gpumem)
gpumem_target_defaults(overrun_library)
gpumem_add_platform_test(gpu.sanitizer_sees_served_blocks gpu
  COMMAND gpu_or_skip ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/gpu/check_sanitizer_sees_blocks.py
          $<TARGET_FILE:gpumem_preload> $<TARGET_FILE:overrun> $<TARGET_FILE:overrun_library>
          ${PROJECT_SOURCE_DIR}/config/pool.toml)

# Two GPUs: peer access and memory-pool access to blocks the shim serves, with each runtime
# (skipped, 77, with fewer than two GPUs).
gpumem_cuda_program(peer_access_static programs/peer_access.cu Static)
gpumem_cuda_program(peer_access_shared programs/peer_access.cu Shared)
gpumem_add_platform_test(gpu.peer_access_two_devices gpu
  COMMAND gpu_or_skip ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/gpu/check_peer_access.py
          $<TARGET_FILE:gpumem_preload> $<TARGET_FILE:peer_access_static> $<TARGET_FILE:peer_access_shared>)
