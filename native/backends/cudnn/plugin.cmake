# The cudnn plugin: libstridekit_cudnn.so against the CUDA runtime (libcudart) and cuDNN 9 (libcudnn).
# Plain C++: no nvcc, no CUDA kernels of our own; every device operation is a CUDA runtime or cuDNN call.
#
# The CUDA runtime (cuda_runtime_api.h, libcudart) is looked for, first found wins:
#   1. a CUDA toolkit named by CUDAToolkit_ROOT or CUDA_PATH (find_package(CUDAToolkit));
#   2. this checkout's .venv-cuda/ (scripts/setup-cuda.sh): the nvidia-cuda-runtime and nvidia-cuda-crt
#      wheels, site-packages/nvidia/cu13/{include,lib};
#   3. a CUDA toolkit where find_package(CUDAToolkit) finds one by itself (nvcc on PATH, /usr/local/cuda).
# cuDNN 9 (cudnn.h, libcudnn.so.9), first found wins:
#   1. CUDNN_ROOT or CUDNN_PATH (a CMake cache variable or an environment variable): <dir>/include, <dir>/lib*,
#      and only there: a cuDNN named explicitly is that one or none;
#   2. this checkout's .venv-cuda/: the nvidia-cudnn-cu13 wheel, site-packages/nvidia/cudnn/{include,lib};
#   3. next to the CUDA runtime found above, and the system's default paths (Debian's libcudnn9-dev-cuda-*).
# Not found: the plugin is skipped with one line saying why, and everything else still builds.
#
# At run time on Linux (stridekit_add_vendor_plugin, CMakeLists.txt): libstridekit_cudnn.so is a loader
# stub that finds libcudart.so.<major> and libcudnn.so.9 where the user has them (cudnn_stub.cc,
# native/plugin_stub/runtime_search.h: STRIDEKIT_CUDA_DIR and STRIDEKIT_CUDNN_DIR, the active Python
# environment's NVIDIA wheels, also as PyTorch installs them, a CUDA toolkit and the system's folders) and
# then opens libstridekit_cudnn_impl.so, which links them by soname and carries no RUNPATH. Not found: the
# backend is unavailable and its reason gives the pip command for the wheels scripts/setup-cuda.sh pins
# and where it looked. libcudnn.so.9 opens its sub-libraries (libcudnn_cnn.so.9, ...) from its own
# directory (the wheel's libcudnn.so.9 carries RPATH $ORIGIN). The driver, libcuda.so.1, is the system's:
# without it the plugin loads and says so in backends().

set(cudnn_source_dir "${CMAKE_CURRENT_LIST_DIR}")
file(GLOB cudnn_venv_nvidia LIST_DIRECTORIES true "${CMAKE_CURRENT_SOURCE_DIR}/.venv-cuda/lib/python3*/site-packages/nvidia")
if(cudnn_venv_nvidia)
  list(SORT cudnn_venv_nvidia ORDER DESCENDING)  # the newest python3.x when there are several
  list(GET cudnn_venv_nvidia 0 cudnn_venv_nvidia)
endif()

# ---- the CUDA runtime ----
set(cudnn_cudart_include "")
set(cudnn_cudart_library "")
set(cudnn_tried_toolkit OFF)
macro(stridekit_cudnn_try_toolkit)
  set(cudnn_tried_toolkit ON)
  if(NOT CUDAToolkit_ROOT AND DEFINED ENV{CUDA_PATH})
    set(CUDAToolkit_ROOT "$ENV{CUDA_PATH}")
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND AND TARGET CUDA::cudart)
    set(cudnn_cudart_include "${CUDAToolkit_INCLUDE_DIRS}")
    get_target_property(cudnn_cudart_library CUDA::cudart IMPORTED_LOCATION)
    set(cudnn_cudart_from "CUDA toolkit ${CUDAToolkit_VERSION} at ${CUDAToolkit_LIBRARY_DIR}")
  endif()
endmacro()
if(CUDAToolkit_ROOT OR DEFINED ENV{CUDAToolkit_ROOT} OR DEFINED ENV{CUDA_PATH})
  stridekit_cudnn_try_toolkit()
endif()
if(NOT cudnn_cudart_library AND cudnn_venv_nvidia)
  find_path(cudnn_venv_cudart_include cuda_runtime_api.h PATHS "${cudnn_venv_nvidia}/cu13/include" NO_DEFAULT_PATH)
  find_library(cudnn_venv_cudart_library NAMES libcudart.so.13 cudart PATHS "${cudnn_venv_nvidia}/cu13/lib" NO_DEFAULT_PATH)
  # cuda_runtime_api.h includes crt/host_defines.h, which only the nvidia-cuda-crt wheel carries.
  if(cudnn_venv_cudart_include AND cudnn_venv_cudart_library AND EXISTS "${cudnn_venv_cudart_include}/crt/host_defines.h")
    set(cudnn_cudart_include "${cudnn_venv_cudart_include}")
    set(cudnn_cudart_library "${cudnn_venv_cudart_library}")
    set(cudnn_cudart_from ".venv-cuda")
  endif()
endif()
if(NOT cudnn_cudart_library AND NOT cudnn_tried_toolkit)
  stridekit_cudnn_try_toolkit()
endif()

# ---- cuDNN ----
set(cudnn_roots "")
foreach(cudnn_variable CUDNN_ROOT CUDNN_PATH)
  if(${cudnn_variable})
    list(APPEND cudnn_roots "${${cudnn_variable}}")
  elseif(DEFINED ENV{${cudnn_variable}})
    list(APPEND cudnn_roots "$ENV{${cudnn_variable}}")
  endif()
endforeach()
set(cudnn_given_roots "${cudnn_roots}")
set(cudnn_search_options "")
if(cudnn_given_roots)
  set(cudnn_search_options NO_DEFAULT_PATH)  # a cuDNN named explicitly is that one or none
else()
  if(cudnn_venv_nvidia)
    list(APPEND cudnn_roots "${cudnn_venv_nvidia}/cudnn")
  endif()
  if(cudnn_cudart_library)
    get_filename_component(cudnn_cudart_dir "${cudnn_cudart_library}" DIRECTORY)
    get_filename_component(cudnn_cudart_dir "${cudnn_cudart_dir}/.." ABSOLUTE)
    list(APPEND cudnn_roots "${cudnn_cudart_dir}")
  endif()
endif()
find_path(cudnn_include_dir cudnn_version.h HINTS ${cudnn_roots} PATH_SUFFIXES include ${cudnn_search_options})
find_library(cudnn_library NAMES cudnn libcudnn.so.9 HINTS ${cudnn_roots}
             PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu lib/aarch64-linux-gnu ${cudnn_search_options})

set(cudnn_major "")
if(cudnn_include_dir)
  file(STRINGS "${cudnn_include_dir}/cudnn_version.h" cudnn_version_lines REGEX "^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
  foreach(cudnn_line IN LISTS cudnn_version_lines)
    if(cudnn_line MATCHES "^#define CUDNN_([A-Z]+) +([0-9]+)")
      set(cudnn_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
    endif()
  endforeach()
  set(cudnn_major "${cudnn_MAJOR}")
endif()

if(NOT cudnn_cudart_library)
  stridekit_skip_plugin(cudnn "CUDA runtime not found (run npm run setup:cuda, or install a CUDA toolkit / set CUDA_PATH)")
elseif(NOT cudnn_include_dir OR NOT cudnn_library)
  if(cudnn_given_roots)
    stridekit_skip_plugin(cudnn "no cudnn_version.h and libcudnn under CUDNN_ROOT/CUDNN_PATH=${cudnn_given_roots}")
  else()
    stridekit_skip_plugin(cudnn "cuDNN not found (run npm run setup:cuda, or set CUDNN_ROOT or CUDNN_PATH)")
  endif()
elseif(NOT cudnn_major STREQUAL "9")
  stridekit_skip_plugin(cudnn "cuDNN ${cudnn_MAJOR}.${cudnn_MINOR} at ${cudnn_include_dir}; the plugin needs cuDNN 9")
else()
  # What the stub looks for: the CUDA runtime's soname as linked, and the wheels scripts/setup-cuda.sh pins
  # for the command a user is given when they are missing.
  get_filename_component(cudnn_cudart_real "${cudnn_cudart_library}" REALPATH)
  get_filename_component(cudnn_cudart_real "${cudnn_cudart_real}" NAME)
  string(REGEX MATCH "^libcudart\\.so\\.[0-9]+" cudnn_cudart_soname "${cudnn_cudart_real}")
  if(NOT cudnn_cudart_soname)
    set(cudnn_cudart_soname "libcudart.so.13")
  endif()
  file(STRINGS "${CMAKE_CURRENT_SOURCE_DIR}/scripts/setup-cuda.sh" cudnn_pins REGEX "^(cudnn|runtime)_version=")
  set(cudnn_wheel_cudnn "")
  set(cudnn_wheel_runtime "")
  foreach(cudnn_pin IN LISTS cudnn_pins)
    if(cudnn_pin MATCHES "^(cudnn|runtime)_version=.*:-([0-9.]+)}")
      set(cudnn_wheel_${CMAKE_MATCH_1} "==${CMAKE_MATCH_2}")
    endif()
  endforeach()
  set(cudnn_wheels "nvidia-cuda-runtime${cudnn_wheel_runtime} nvidia-cudnn-cu13${cudnn_wheel_cudnn}")
  stridekit_add_vendor_plugin(cudnn
    SOURCES
      "${cudnn_source_dir}/cudnn_backend.cc"
      "${cudnn_source_dir}/cudnn_plan.cc"
      "${cudnn_source_dir}/cudnn_lowering.cc"
      "${cudnn_source_dir}/cudnn_resources.cc"
      "${cudnn_source_dir}/cudnn_runtime.cc"
      "${cudnn_source_dir}/cudnn_errors.cc"
    INCLUDE_DIRS "${cudnn_cudart_include}" "${cudnn_include_dir}"
    LIBRARIES "${cudnn_library}" "${cudnn_cudart_library}" ${CMAKE_DL_LIBS}
    STUB "${cudnn_source_dir}/cudnn_stub.cc"
    STUB_DEFINITIONS
      "STRIDEKIT_CUDART_SONAME=\"${cudnn_cudart_soname}\""
      "STRIDEKIT_CUDA_WHEELS=\"${cudnn_wheels}\"")
  if(TARGET stridekit_cudnn_impl)
    set(cudnn_implementation stridekit_cudnn_impl)
  else()
    set(cudnn_implementation stridekit_cudnn)
  endif()
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${cudnn_implementation} PRIVATE -Wall -Wextra)
  endif()
  message(STATUS "stridekit: cudnn against cuDNN ${cudnn_MAJOR}.${cudnn_MINOR}.${cudnn_PATCHLEVEL} (${cudnn_library}) "
                 "and the CUDA runtime from ${cudnn_cudart_from}; found at run time as ${cudnn_cudart_soname} and libcudnn.so.9")
endif()
