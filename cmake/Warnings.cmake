# Warnings for every spamgate target; SPAMGATE_WERROR turns them into errors (the dev preset).
option(SPAMGATE_WERROR "Treat warnings as errors" OFF)

function(spamgate_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                           -Wconversion -Wsign-conversion
                                           -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports std::variant/std::optional moves as maybe-uninitialized (GCC PR 105562
    # and kin): false positives that -O2 only makes louder; clang builds keep the check.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    # GCC 12 at -O3 reports `"literal" + std::string(...)` as overlapping memcpy (-Wrestrict,
    # GCC PR 105651, fixed in 13): kept as a warning so Release builds with -Werror.
    if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      target_compile_options(${target} PRIVATE -Wno-error=restrict)
    endif()
  endif()
  if(SPAMGATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
