# Every dependency comes from a Debian 12 package (contrib/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core libevent_openssl libevent_pthreads)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
pkg_check_modules(LDNS REQUIRED IMPORTED_TARGET ldns)
pkg_check_modules(OPENDKIM REQUIRED IMPORTED_TARGET opendkim)
pkg_check_modules(LIBPSL REQUIRED IMPORTED_TARGET libpsl)
pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# libspf2 ships no pkg-config file.
find_path(SPF2_INCLUDE_DIR spf2/spf.h REQUIRED)
find_library(SPF2_LIBRARY spf2 REQUIRED)
add_library(spf2 UNKNOWN IMPORTED)
set_target_properties(spf2 PROPERTIES IMPORTED_LOCATION "${SPF2_LIBRARY}"
                                      INTERFACE_INCLUDE_DIRECTORIES "${SPF2_INCLUDE_DIR}")
if(BUILD_TESTING)
  find_package(GTest REQUIRED)
  pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)  # the RFC 7208 suite
endif()
