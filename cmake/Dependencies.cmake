# Third-party dependencies, all from Debian 12 packages (see scripts/setup.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
# Pistache ships no CMake config, only pkg-config.
pkg_check_modules(Pistache REQUIRED IMPORTED_TARGET libpistache>=0.0.5)
# RapidJSON's config defines no target, only RAPIDJSON_INCLUDE_DIRS.
find_package(RapidJSON CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CURL REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
if(CSP_BUILD_TESTS)
  find_package(doctest CONFIG REQUIRED)
  include(doctest)
endif()
