# BLAS for GTN-ML's GEMMs: gtn::blas.
#
# GTN_BLAS=scipy-openblas32 (default): the OpenBLAS that numpy and scipy ship on PyPI
# (wheel `scipy-openblas32`: a current OpenBLAS built with DYNAMIC_ARCH, so it picks its
# kernels for the CPU it runs on, 32-bit BLAS integers, symbols prefixed `scipy_`). It is a
# build requirement (requirements/build.txt, pyproject.toml) and a run-time dependency of the
# Python package; binaries find it by rpath (see gtn_blas_rpath below).
# GTN_BLAS=system: Debian's libopenblas-dev (0.3.21 on Debian 12, which falls back to old
# kernels on CPUs newer than it; kept for builds without the wheel).
set(GTN_BLAS "scipy-openblas32" CACHE STRING "BLAS for GTN-ML: scipy-openblas32 or system")
set_property(CACHE GTN_BLAS PROPERTY STRINGS scipy-openblas32 system)

add_library(gtn_blas INTERFACE)
add_library(gtn::blas ALIAS gtn_blas)
# gtn_cblas.h: <cblas.h> under its usual names for whichever build is linked.
target_include_directories(gtn_blas INTERFACE ${CMAKE_CURRENT_LIST_DIR}/blas)

if(GTN_BLAS STREQUAL "scipy-openblas32")
  if(Python_EXECUTABLE)
    set(GTN_BLAS_PYTHON "${Python_EXECUTABLE}")
  else()
    find_program(GTN_BLAS_PYTHON NAMES python3 python REQUIRED)
  endif()
  execute_process(
    COMMAND "${GTN_BLAS_PYTHON}" -c
            "import scipy_openblas32 as s; print(s.get_include_dir()); print(s.get_lib_dir()); print(s.get_library())"
    OUTPUT_VARIABLE _gtn_blas_out ERROR_VARIABLE _gtn_blas_err RESULT_VARIABLE _gtn_blas_rc
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _gtn_blas_rc EQUAL 0)
    message(FATAL_ERROR "GTN_BLAS=scipy-openblas32: ${GTN_BLAS_PYTHON} cannot import scipy_openblas32 "
                        "(pip install -r requirements/build.txt, or configure with -DGTN_BLAS=system "
                        "to use Debian's libopenblas-dev): ${_gtn_blas_err}")
  endif()
  string(REPLACE "\n" ";" _gtn_blas_out "${_gtn_blas_out}")
  list(GET _gtn_blas_out 0 GTN_BLAS_INCLUDE_DIR)
  list(GET _gtn_blas_out 1 GTN_BLAS_LIB_DIR)
  list(GET _gtn_blas_out 2 _gtn_blas_name)
  find_library(GTN_BLAS_LIBRARY NAMES ${_gtn_blas_name} PATHS "${GTN_BLAS_LIB_DIR}" NO_DEFAULT_PATH REQUIRED)
  target_include_directories(gtn_blas SYSTEM BEFORE INTERFACE "${GTN_BLAS_INCLUDE_DIR}")
  target_link_libraries(gtn_blas INTERFACE "${GTN_BLAS_LIBRARY}")
  target_compile_definitions(gtn_blas INTERFACE GTN_BLAS_SYMBOL_PREFIX=scipy_)
  # Where installed binaries look for it: next to the gtn package in site-packages.
  execute_process(
    COMMAND "${GTN_BLAS_PYTHON}" -c
            "import os, sysconfig as c; p = c.get_paths(); print(os.path.relpath(p['platlib'], p['scripts']))"
    OUTPUT_VARIABLE GTN_BLAS_SCRIPTS_TO_PLATLIB OUTPUT_STRIP_TRAILING_WHITESPACE)
  message(STATUS "GTN BLAS: scipy-openblas32 in ${GTN_BLAS_LIB_DIR}")
elseif(GTN_BLAS STREQUAL "system")
  pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
  target_link_libraries(gtn_blas INTERFACE PkgConfig::OPENBLAS)
  message(STATUS "GTN BLAS: system OpenBLAS ${OPENBLAS_VERSION}")
else()
  message(FATAL_ERROR "GTN_BLAS must be scipy-openblas32 or system, got '${GTN_BLAS}'")
endif()

# gtn_blas_rpath(target where): lets an installed binary find the BLAS library.
# where = PACKAGE (a module installed in site-packages/gtn) or SCRIPTS (the CLI in the
# environment's scripts folder). The build tree uses CMake's absolute build rpath; the
# absolute library folder stays as a last resort (it is right for --no-build-isolation).
function(gtn_blas_rpath target where)
  if(NOT GTN_BLAS STREQUAL "scipy-openblas32")
    return()
  endif()
  if(where STREQUAL "PACKAGE")
    set(rel "$ORIGIN/../scipy_openblas32/lib")
  else()
    set(rel "$ORIGIN/${GTN_BLAS_SCRIPTS_TO_PLATLIB}/scipy_openblas32/lib")
  endif()
  set_property(TARGET ${target} APPEND PROPERTY INSTALL_RPATH "${rel}" "${GTN_BLAS_LIB_DIR}")
endfunction()
