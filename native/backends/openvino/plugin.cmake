# The openvino plugin: libstridekit_openvino.so against OpenVINO's C API (openvino::runtime::c, libopenvino_c).
# The C API carries no C++ types, so the plugin shares no C++ standard library with OpenVINO: the prebuilt
# plugin (scripts/prebuild-all.js, libc++ linked in) loads beside any OpenVINO wheel or archive of its release.
#
# OpenVINO is looked for at build time, first found wins:
#   1. OpenVINO_DIR, as a CMake cache variable (-DOpenVINO_DIR=...) or an environment variable;
#   2. INTEL_OPENVINO_DIR (an archive install after setupvars.sh): $INTEL_OPENVINO_DIR/runtime/cmake;
#   3. this checkout's .venv-openvino/ (scripts/setup-openvino.sh): its python is asked for the CMake dir;
#   4. CMake's usual search (CMAKE_PREFIX_PATH, system packages).
# Not found: the plugin is skipped with one line saying why, and everything else still builds.
#
# At run time on Linux (stridekit_add_vendor_plugin, CMakeLists.txt): libstridekit_openvino.so is a loader
# stub that finds libopenvino_c.so.<release> where the user has it (openvino_stub.cc,
# native/plugin_stub/runtime_search.h: STRIDEKIT_OPENVINO_DIR, the active Python environment's openvino
# wheel, /opt/intel and the system's folders) and then opens libstridekit_openvino_impl.so, which links
# libopenvino_c by soname and carries no RUNPATH. Not found: the backend is unavailable and its reason says
# `pip install openvino==<the release built against>` and where it looked. OpenVINO finds its device
# plugins (libopenvino_intel_cpu_plugin.so) and TBB next to libopenvino itself.

set(openvino_source_dir "${CMAKE_CURRENT_LIST_DIR}")
set(openvino_hints "")
set(openvino_venv_python "${CMAKE_CURRENT_SOURCE_DIR}/.venv-openvino/bin/python")

if(NOT OpenVINO_DIR AND DEFINED ENV{OpenVINO_DIR})
  set(OpenVINO_DIR "$ENV{OpenVINO_DIR}")
endif()
if(NOT OpenVINO_DIR AND DEFINED ENV{INTEL_OPENVINO_DIR} AND EXISTS "$ENV{INTEL_OPENVINO_DIR}/runtime/cmake")
  list(APPEND openvino_hints "$ENV{INTEL_OPENVINO_DIR}/runtime/cmake")
endif()
if(NOT OpenVINO_DIR AND EXISTS "${openvino_venv_python}")
  # openvino.get_cmake_path() in recent releases, openvino.utils.get_cmake_path() in 2025.x.
  execute_process(
    COMMAND "${openvino_venv_python}" -c
      "import openvino\ntry:\n    from openvino import get_cmake_path\nexcept ImportError:\n    from openvino.utils import get_cmake_path\nprint(get_cmake_path())"
    OUTPUT_VARIABLE openvino_venv_cmake_dir
    OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_QUIET
    RESULT_VARIABLE openvino_venv_status)
  if(openvino_venv_status EQUAL 0 AND EXISTS "${openvino_venv_cmake_dir}/OpenVINOConfig.cmake")
    list(APPEND openvino_hints "${openvino_venv_cmake_dir}")
  endif()
endif()

set(openvino_given_dir "${OpenVINO_DIR}")
find_package(OpenVINO COMPONENTS Runtime QUIET HINTS ${openvino_hints})

if(NOT OpenVINO_FOUND OR NOT TARGET openvino::runtime::c)
  if(openvino_given_dir AND NOT openvino_given_dir MATCHES "-NOTFOUND$")
    set(openvino_where "OpenVINO_DIR=${openvino_given_dir} has no usable OpenVINOConfig.cmake (with the Runtime component and its C API)")
  else()
    set(openvino_where "OpenVINO not found (run scripts/setup-openvino.sh, or set OpenVINO_DIR or INTEL_OPENVINO_DIR)")
  endif()
  stridekit_skip_plugin(openvino "${openvino_where}")
else()
  # The soname carries the release: libopenvino_c.so.2530 for 2025.3.x.
  math(EXPR openvino_soname_year "${OpenVINO_VERSION_MAJOR} % 100")
  set(openvino_soname "libopenvino_c.so.${openvino_soname_year}${OpenVINO_VERSION_MINOR}${OpenVINO_VERSION_PATCH}")
  stridekit_add_vendor_plugin(openvino
    SOURCES
      "${openvino_source_dir}/openvino_backend.cc"
      "${openvino_source_dir}/openvino_plan.cc"
      "${openvino_source_dir}/model_builder.cc"
      "${openvino_source_dir}/ir_writer.cc"
      "${openvino_source_dir}/geometry_reduction.cc"
      "${openvino_source_dir}/openvino_runtime.cc"
    LIBRARIES openvino::runtime::c
    STUB "${openvino_source_dir}/openvino_stub.cc"
    STUB_DEFINITIONS
      "STRIDEKIT_OPENVINO_VERSION=\"${OpenVINO_VERSION_MAJOR}.${OpenVINO_VERSION_MINOR}.${OpenVINO_VERSION_PATCH}\""
      "STRIDEKIT_OPENVINO_SONAME=\"${openvino_soname}\"")
  if(UNIX AND NOT APPLE)
    message(STATUS "stridekit: openvino ${OpenVINO_VERSION} from ${OpenVINO_DIR}; found at run time as ${openvino_soname}")
  elseif(APPLE)
    get_target_property(openvino_library openvino::runtime::c IMPORTED_LOCATION_RELEASE)
    get_filename_component(openvino_library_dir "${openvino_library}" DIRECTORY)
    set_target_properties(stridekit_openvino PROPERTIES
      BUILD_WITH_INSTALL_RPATH ON
      INSTALL_RPATH "@loader_path;${openvino_library_dir}")
  endif()
endif()
