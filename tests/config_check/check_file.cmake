# Runs `gpumem check FILE` and checks what it says.
#   cmake -DGPUMEM=<gpumem> -DFILE=<file.toml> -DEXPECT=valid -P check_file.cmake
#     exit status 0, "valid" last, and every `stack = [...]` of the file printed as a resolved
#     stack whose layers come from that file, in that order;
#   cmake -DGPUMEM=<gpumem> -DFILE=<file.toml> -DEXPECT=invalid -DMESSAGES=<text>|<text>... -P check_file.cmake
#     exit status not 0, each text on stderr (not stdout), "not valid" last. The texts are
#     separated by | (a ; would split the test's command line).
foreach(required GPUMEM FILE EXPECT)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "check_file.cmake needs -D${required}=...")
  endif()
endforeach()

execute_process(COMMAND "${GPUMEM}" check "${FILE}" RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(shown "gpumem check ${FILE}: exit status ${status}\n--- stdout\n${out}--- stderr\n${err}")

if(EXPECT STREQUAL "invalid")
  if(status EQUAL 0)
    message(FATAL_ERROR "a malformed file passed\n${shown}")
  endif()
  string(REPLACE "|" ";" texts "${MESSAGES}")
  foreach(text IN LISTS texts)
    string(FIND "${err}" "${text}" on_stderr)
    string(FIND "${out}" "${text}" on_stdout)
    if(on_stderr EQUAL -1 OR NOT on_stdout EQUAL -1)
      message(FATAL_ERROR "expected on stderr only: ${text}\n${shown}")
    endif()
  endforeach()
  if(NOT out MATCHES "problem\\(s\\): not valid\n$")
    message(FATAL_ERROR "the last line is not 'not valid'\n${shown}")
  endif()
  message(STATUS "not valid, as expected: ${MESSAGES}")
  return()
endif()

# stderr may only hold warnings (a [devices.N] this machine does not have).
string(REGEX REPLACE "gpumem: warning: [^\n]*\n" "" not_warnings "${err}")
if(NOT status EQUAL 0 OR NOT out MATCHES "\nvalid\n$" OR NOT not_warnings STREQUAL "")
  message(FATAL_ERROR "expected valid, exit status 0 and no problem on stderr\n${shown}")
endif()

# Each stack the file names, as the resolved stack: its layers numbered in order, each
# perhaps followed by its option lines, under "layers from <file>:<line>:<column>".
get_filename_component(name "${FILE}" NAME)
string(REPLACE "." "\\." name_pattern "${name}")
file(STRINGS "${FILE}" stack_lines REGEX "^[ \t]*stack[ \t]*=")
if(stack_lines STREQUAL "")
  message(FATAL_ERROR "${FILE} names no stack")
endif()
foreach(line IN LISTS stack_lines)
  string(REGEX MATCHALL "\"[a-z_]+\"" layers "${line}")
  set(pattern "layers from [^\n]*${name_pattern}:[0-9]+:[0-9]+\n")
  set(number 1)
  foreach(layer IN LISTS layers)
    string(REPLACE "\"" "" layer "${layer}")
    string(APPEND pattern "  ${number}\\. ${layer} +[^\n]*\n(       [^\n]*\n)*")
    math(EXPR number "${number} + 1")
  endforeach()
  # The stack ends there: no further numbered layer follows.
  string(APPEND pattern "(\n|$)")
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "the resolved stacks do not show ${line}\n${shown}")
  endif()
  message(STATUS "resolved: ${line}")
endforeach()
