# The openvino plugin: libstridekit_openvino.so against OpenVINO's C++ runtime (openvino::runtime).
#
# OpenVINO is looked for, first found wins:
#   1. OpenVINO_DIR, as a CMake cache variable (-DOpenVINO_DIR=...) or an environment variable;
#   2. INTEL_OPENVINO_DIR (an archive install after setupvars.sh): $INTEL_OPENVINO_DIR/runtime/cmake;
#   3. this checkout's .venv-openvino/ (scripts/setup-openvino.sh): its python is asked for the CMake dir;
#   4. CMake's usual search (CMAKE_PREFIX_PATH, system packages).
# Not found: the plugin is skipped with one line saying why, and everything else still builds.
#
# Run-time search for libopenvino.so.<version> (the plugin links it directly), RUNPATH so that
# LD_LIBRARY_PATH still comes first:
#   "$ORIGIN"                        an OpenVINO copied next to the plugin;
#   "$ORIGIN/../../<dir in checkout>" when OpenVINO lies inside this checkout (.venv-openvino): the plugin
#                                    sits two levels below the package root both in build/Release/ and
#                                    in prebuilds/<platform>-<arch>/, so this survives moving the checkout;
#   or the absolute library dir     when OpenVINO lies outside it (OpenVINO_DIR, an archive install).
# OpenVINO finds its device plugins (libopenvino_intel_cpu_plugin.so) and TBB next to libopenvino itself.
# A plugin whose libopenvino cannot be found (a prebuilt package on a machine without that OpenVINO
# release) is unavailable, and backends() gives the loader's reason:
#   cannot load .../libstridekit_openvino.so: libopenvino.so.2530: cannot open shared object file: ...

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

if(NOT OpenVINO_FOUND OR NOT TARGET openvino::runtime)
  if(openvino_given_dir AND NOT openvino_given_dir MATCHES "-NOTFOUND$")
    set(openvino_where "OpenVINO_DIR=${openvino_given_dir} has no usable OpenVINOConfig.cmake (with the Runtime component)")
  else()
    set(openvino_where "OpenVINO not found (run scripts/setup-openvino.sh, or set OpenVINO_DIR or INTEL_OPENVINO_DIR)")
  endif()
  stridekit_skip_plugin(openvino "${openvino_where}")
else()
  stridekit_add_plugin(openvino
    SOURCES
      "${openvino_source_dir}/openvino_backend.cc"
      "${openvino_source_dir}/openvino_plan.cc"
      "${openvino_source_dir}/model_builder.cc"
      "${openvino_source_dir}/geometry_reduction.cc"
      "${openvino_source_dir}/openvino_runtime.cc"
    LIBRARIES openvino::runtime)
  if(UNIX AND NOT APPLE)
    get_target_property(openvino_library openvino::runtime IMPORTED_LOCATION_RELEASE)
    if(NOT openvino_library)
      get_target_property(openvino_library openvino::runtime IMPORTED_LOCATION)
    endif()
    get_filename_component(openvino_library_dir "${openvino_library}" REALPATH)
    get_filename_component(openvino_library_dir "${openvino_library_dir}" DIRECTORY)
    # build/Release/ and prebuilds/<platform>-<arch>/ are both two levels below the package root, so an
    # OpenVINO inside the checkout (.venv-openvino) is reached relative to the plugin, wherever the
    # checkout or the package is moved; one outside it by its absolute path.
    file(RELATIVE_PATH openvino_relative_dir "${CMAKE_CURRENT_SOURCE_DIR}" "${openvino_library_dir}")
    if(openvino_relative_dir MATCHES "^\\.\\./" OR IS_ABSOLUTE "${openvino_relative_dir}")
      set(openvino_rpath "$ORIGIN;${openvino_library_dir}")
    else()
      set(openvino_rpath "$ORIGIN;$ORIGIN/../../${openvino_relative_dir}")
    endif()
    # The library as built is the library as shipped: the same RPATH in build/ and in prebuilds/.
    set_target_properties(stridekit_openvino PROPERTIES
      BUILD_WITH_INSTALL_RPATH ON
      INSTALL_RPATH "${openvino_rpath}")
    message(STATUS "stridekit: openvino ${OpenVINO_VERSION} from ${OpenVINO_DIR}; RPATH ${openvino_rpath}")
  elseif(APPLE)
    get_target_property(openvino_library openvino::runtime IMPORTED_LOCATION_RELEASE)
    get_filename_component(openvino_library_dir "${openvino_library}" DIRECTORY)
    set_target_properties(stridekit_openvino PROPERTIES
      BUILD_WITH_INSTALL_RPATH ON
      INSTALL_RPATH "@loader_path;${openvino_library_dir}")
  endif()
endif()
