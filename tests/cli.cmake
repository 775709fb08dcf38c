# The gpumem command as a command: --version, --help on every subcommand, usage errors on
# stderr with status 2, and `run` with its options on the simulator. Label unit (no CUDA) where
# the command makes no CUDA call, sim where it runs a program.
gpumem_add_checked_test(unit.cli_version unit COMMAND gpumem_command --version
  OUTPUT "^gpumem [0-9]+\\.[0-9]+\\.[0-9]+$")
foreach(subcommand check keys run replay report help)
  gpumem_add_checked_test(unit.cli_${subcommand}_help unit COMMAND gpumem_command ${subcommand} --help
    OUTPUT "^Usage: [^\\n]*${subcommand}"
    NO_OUTPUT "cannot read" "cannot run")
endforeach()
# A size the shim works out when none is given shows as such, not as "none" (no limit).
gpumem_add_checked_test(unit.cli_check_shows_automatic_sizes unit COMMAND gpumem_command check
  OUTPUT "quarantine_size +automatic +default" "reservation +automatic +default"
         "bypass_above +none +default")
gpumem_add_checked_test(unit.cli_help_names_a_subcommand unit COMMAND gpumem_command help run
  OUTPUT "--simulator" "--report")
gpumem_add_checked_test(unit.cli_unknown_subcommand unit COMMAND gpumem_command bogus STATUS 2
  OUTPUT "^gpumem: The following argument was not expected: bogus$" "gpumem --help")
gpumem_add_checked_test(unit.cli_run_without_a_program unit COMMAND gpumem_command run STATUS 2
  OUTPUT "^gpumem: PROGRAM is required$")
gpumem_add_checked_test(unit.cli_run_bad_report unit COMMAND gpumem_command run --report loud -- ls
  STATUS 2 OUTPUT "--report: loud not in \\{off,text,json\\}")
gpumem_add_checked_test(unit.cli_replay_bad_limit unit
  COMMAND gpumem_command replay log.csv --limit lots STATUS 2 OUTPUT "^gpumem: --limit: ")
# run: --config=FILE and --report as options, on the simulator built beside the command.
gpumem_add_checked_test(sim.cli_run_with_options sim
  COMMAND gpumem_command run --simulator --report=text --config=${PROJECT_SOURCE_DIR}/config/arena.toml
          -- $<TARGET_FILE:alloc_loop_shared> 50
  OUTPUT "^alloc_loop: 50 " "stack statistics > arena > cuda, " "calls: allocations 50, ")
# report: a log's summary and its page, on the small replay log.
gpumem_add_checked_test(unit.cli_report unit
  COMMAND gpumem_command report ${CMAKE_CURRENT_SOURCE_DIR}/replay/two_streams.csv
          --html ${CMAKE_CURRENT_BINARY_DIR}/report-two-streams.html
  OUTPUT "^  4 allocations \\(11.9 MiB\\), 3 frees, 1 failed, over 0.000007 s$"
         "^  peak in use 10.9 MiB at 0.000005 s$"
         "^  still allocated at the end: 1 blocks, 500 B$"
         "^gpumem report: the page is .*report-two-streams.html$")
gpumem_add_checked_test(unit.cli_report_missing_log unit COMMAND gpumem_command report nowhere.csv
  STATUS 1 OUTPUT "^gpumem report: nowhere.csv: cannot be read$")
