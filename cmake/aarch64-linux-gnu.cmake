# Toolchain file for cross-building the runtime (runtime/ only) for AArch64
# Linux with Debian's g++-aarch64-linux-gnu:
#   cmake -S runtime -B build-aarch64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# The top-level build does this itself when the cross compiler is installed.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(LLMC_AARCH64_PREFIX aarch64-linux-gnu- CACHE STRING
  "Prefix of the AArch64 cross tools")
# -DCMAKE_CXX_COMPILER=PATH (as the top-level build passes) takes precedence.
if(NOT DEFINED CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${LLMC_AARCH64_PREFIX}gcc)
endif()
if(NOT DEFINED CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER ${LLMC_AARCH64_PREFIX}g++)
endif()

# Debian installs the AArch64 libc under /usr/aarch64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
