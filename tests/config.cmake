# --- the configuration (TOML file, GPUMEM_* variables) and `gpumem check` / `gpumem keys`

# The loader's rules, with exact messages (host only).
gpumem_unit_test(test_configuration SOURCES unit/test_configuration.cpp LINK gpumem_config)

# Malformed files of tests/config_corpus, each with the messages its NAME.expected names.
gpumem_unit_test(test_config_corpus SOURCES unit/test_config_corpus.cpp LINK gpumem_config)
target_compile_definitions(test_config_corpus PRIVATE GPUMEM_CONFIG_CORPUS="${CMAKE_CURRENT_SOURCE_DIR}/config_corpus")

# The table of keys: generated from the schema, its variables the loader's.
gpumem_unit_test(test_key_table SOURCES unit/test_key_table.cpp LINK gpumem_config)

# README.md holds exactly the table `gpumem keys` prints.
add_test(NAME unit.readme_configuration_keys
         COMMAND ${CMAKE_COMMAND} -DGPUMEM=$<TARGET_FILE:gpumem_command> -DREADME=${PROJECT_SOURCE_DIR}/README.md
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/config_check/check_readme_keys.cmake)
set_tests_properties(unit.readme_configuration_keys PROPERTIES LABELS unit TIMEOUT 600)

# Every ready file of config/ passes `gpumem check`, its stacks resolved as it names them:
# without a device (unit: shares stay as written) and on two simulated devices (sim: shares
# resolved against each device's memory).
file(GLOB gpumem_ready_configurations CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/config/*.toml")
foreach(file IN LISTS gpumem_ready_configurations)
  get_filename_component(name "${file}" NAME_WE)
  add_test(NAME unit.check_config_${name}
           COMMAND ${CMAKE_COMMAND} -DGPUMEM=$<TARGET_FILE:gpumem_command> -DFILE=${file} -DEXPECT=valid
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/config_check/check_file.cmake)
  # No device, even on a GPU machine: the unit label calls no CUDA device.
  set_tests_properties(unit.check_config_${name} PROPERTIES LABELS unit TIMEOUT 600 ENVIRONMENT "CUDA_VISIBLE_DEVICES=")

  # The first layer of the file's first stack, printed as layer 1 on device 1, then "valid".
  file(STRINGS "${file}" stack_line REGEX "^stack *= *\\[" LIMIT_COUNT 1)
  if(NOT stack_line MATCHES "\"([a-z_]+)\"")
    message(FATAL_ERROR "${file}: no top-level `stack = [\"layer\", ...]` line to check")
  endif()
  # Exit status 0, "valid" as the last line, and no message (no "gpumem: " line) at all.
  gpumem_add_checked_test(sim.check_config_${name} sim
                          COMMAND gpumem_command check ${file}
                          OUTPUT "device 1 \\(16\\.0 GiB\\).*^  1\\. ${CMAKE_MATCH_1} .*^valid\n\\Z"
                          NO_OUTPUT "gpumem: "
                          ENVIRONMENT GPUMEM_SIM_DEVICES=2)
endforeach()

# A malformed file: `gpumem check` exits non-zero with the message on stderr.
add_test(NAME unit.check_config_malformed
         COMMAND ${CMAKE_COMMAND} -DGPUMEM=$<TARGET_FILE:gpumem_command>
                 -DFILE=${CMAKE_CURRENT_SOURCE_DIR}/config_corpus/unknown_key_near_miss.toml -DEXPECT=invalid
                 "-DMESSAGES=unknown_key_near_miss.toml:2:1: [device.pool]: unknown key 'intial_size'|did you mean initial_size?"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/config_check/check_file.cmake)
set_tests_properties(unit.check_config_malformed PROPERTIES LABELS unit TIMEOUT 600)
