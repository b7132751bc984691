# Every dependency comes from a Debian package (scripts/setup-deps installs them).
# Asio and mimetic ship no CMake or pkg-config files, so they get hand-made targets.
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED CONFIG)
find_package(doctest 2.4 REQUIRED CONFIG)
find_package(tomlplusplus 3 REQUIRED CONFIG)   # a compiled .so on Debian (docs/development.md, pitfall 7)

find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(asio INTERFACE)
add_library(asio::asio ALIAS asio)
target_include_directories(asio SYSTEM INTERFACE "${ASIO_INCLUDE_DIR}")
# ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio 1.22 ODR bug (docs/development.md, pitfall 1).
target_compile_definitions(asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
  ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(asio INTERFACE Threads::Threads)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_definitions(asio INTERFACE ASIO_HAS_CO_AWAIT=1)   # pitfall 2
endif()
add_library(asio_ssl INTERFACE)
add_library(asio::ssl ALIAS asio_ssl)
target_link_libraries(asio_ssl INTERFACE asio::asio OpenSSL::SSL OpenSSL::Crypto)

find_path(MIMETIC_INCLUDE_DIR mimetic/mimetic.h)
find_library(MIMETIC_LIBRARY mimetic)
if(MIMETIC_INCLUDE_DIR AND MIMETIC_LIBRARY)
  add_library(mimetic::mimetic UNKNOWN IMPORTED)
  set_target_properties(mimetic::mimetic PROPERTIES
    IMPORTED_LOCATION "${MIMETIC_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${MIMETIC_INCLUDE_DIR}")
endif()
