# Run at build time (cmake -P) to record the compiler's identity in OUTPUT:
# VERSION, the git commit of SOURCE_DIR and, when the compiler's sources
# (include/, lib/) differ from that commit, a hash of the difference. The disk
# kernel cache keys on it, so a new commit or a local change to the compiler
# never reuses kernels compiled by another one. The file is rewritten only
# when its text changes, so unchanged builds recompile nothing.
set(commit "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse HEAD
    WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE head
    RESULT_VARIABLE status OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(status EQUAL 0)
    set(commit ${head})
    execute_process(COMMAND ${GIT_EXECUTABLE} diff HEAD -- include lib
      WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE changes ERROR_QUIET)
    execute_process(
      COMMAND ${GIT_EXECUTABLE} ls-files --others --exclude-standard
        -- include lib
      WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE untracked ERROR_QUIET)
    string(REPLACE "\n" ";" untracked "${untracked}")
    foreach(file ${untracked})
      file(SHA256 ${SOURCE_DIR}/${file} digest)
      string(APPEND changes "${file} ${digest}\n")
    endforeach()
    if(NOT changes STREQUAL "")
      string(SHA256 digest "${changes}")
      string(SUBSTRING ${digest} 0 16 digest)
      set(commit "${commit}+changes-${digest}")
    endif()
  endif()
endif()
set(text "#define DASH_VERSION_STRING \"${VERSION}\"\n#define DASH_GIT_COMMIT \"${commit}\"\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUTPUT} "${text}")
endif()
