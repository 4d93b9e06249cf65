# Header layers, enforced by the build.
#
# The public headers are include/gtn/*.h. A module's internal headers are
# src/gtn/<module>/*.h, included as "gtn/<module>/x.h". After the module folders are added,
# the top-level CMakeLists.txt calls gtn_module() for each module: every target defined in
# src/gtn/<module>/ (the library gtn_<module>, its tests and test tools) then sees
#   - include/ (PUBLIC on the library, so whatever links it sees the public headers), and
#   - PRIVATE, an include root made for the module in the build folder that holds only
#     gtn/<module> (a link to src/gtn/<module>) and gtn/<m> for each module m it USES.
# Nothing adds src/ itself to an include path, so `#include "gtn/store/manifest.h"`
# compiles in store (and in what lists store in USES) and fails everywhere else: in
# another module, in the CLI (tools/gtn) and in the Python extension (python/src).
#
#   gtn_module(store USES codec)
#   gtn_internal_headers(fuzz_chunk store codec)   # white-box code outside src/: fuzz targets

function(_gtn_compiled_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  set(result "")
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$")
      list(APPEND result ${t})
    endif()
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

function(gtn_module module)
  cmake_parse_arguments(M "" "" "USES" ${ARGN})
  set(dir ${PROJECT_SOURCE_DIR}/src/gtn/${module})
  set(root ${PROJECT_BINARY_DIR}/module_headers/${module})
  file(REMOVE_RECURSE ${root})
  file(MAKE_DIRECTORY ${root}/gtn)
  foreach(m ${module} ${M_USES})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/gtn/${m} ${root}/gtn/${m} SYMBOLIC)
  endforeach()
  set_property(GLOBAL PROPERTY GTN_MODULE_HEADERS_${module} ${root})
  _gtn_compiled_targets(${dir} targets)
  foreach(t ${targets})
    # A module's own CMakeLists.txt may have put src/ on a path; the layers replace that.
    foreach(prop INCLUDE_DIRECTORIES INTERFACE_INCLUDE_DIRECTORIES)
      get_target_property(dirs ${t} ${prop})
      if(dirs)
        list(REMOVE_ITEM dirs ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/src/)
        set_target_properties(${t} PROPERTIES ${prop} "${dirs}")
      endif()
    endforeach()
    target_include_directories(${t} PRIVATE ${root})
  endforeach()
  target_include_directories(gtn_${module} PUBLIC ${PROJECT_SOURCE_DIR}/include)
endfunction()

# gtn_internal_headers(target module...): `target` may include these modules' internals.
function(gtn_internal_headers target)
  foreach(module ${ARGN})
    get_property(root GLOBAL PROPERTY GTN_MODULE_HEADERS_${module})
    if(NOT root)
      message(FATAL_ERROR "gtn_internal_headers(${target}): no module '${module}' (gtn_module first)")
    endif()
    target_include_directories(${target} PRIVATE ${root})
  endforeach()
endfunction()
