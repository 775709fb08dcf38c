# The gpumem command as a command: --version, --help on every subcommand, usage errors on
# stderr with status 2, and `run` with its options on the simulator. Label unit (no CUDA) where
# the command makes no CUDA call, sim where it runs a program.
gpumem_add_checked_test(unit.cli_version unit COMMAND gpumem_command --version
  OUTPUT "^gpumem [0-9]+\\.[0-9]+\\.[0-9]+$")
foreach(subcommand check keys run replay help)
  gpumem_add_checked_test(unit.cli_${subcommand}_help unit COMMAND gpumem_command ${subcommand} --help
    OUTPUT "^Usage: [^\\n]*${subcommand}"
    NO_OUTPUT "cannot read" "cannot run")
endforeach()
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
  OUTPUT "^alloc_loop: 50 " "stack statistics > arena > cuda$" "allocations served 50, ")
