# SPAMGATE_FUZZ=ON (clang only) instruments every library for coverage and builds the
# libFuzzer targets under tests/fuzz.
option(SPAMGATE_FUZZ "Build libFuzzer targets (needs clang)" OFF)

if(SPAMGATE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

function(spamgate_fuzzer name source)
  add_executable(${name} ${source})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE ${ARGN})
endfunction()
