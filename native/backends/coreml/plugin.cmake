# The coreml plugin: libstridekit_coreml.dylib against Apple's CoreML.framework, macOS only.
#
# The model builder (model_builder_sources.cmake) is portable C++ with no Apple header, which
# tools/coreml-model-tool/ also builds on every platform to check the models with coremltools. The
# plugin adds the Objective-C++ file that calls Core ML (coreml_runtime.mm), the table and the plans and
# needs macOS 12 (the first Core ML with ML Programs); elsewhere it is skipped with "macOS only", the
# reason the facade gives for it there (lib/backends.ts).
#
# Deployment target: macOS 11, the core's (binding.gyp, scripts/prebuild-all.js), set here explicitly so
# that the SDK's default (its own release) never applies: then every @available check in
# coreml_runtime.mm is a real run-time check, Core ML symbols newer than macOS 11 are weakly linked, and
# the plugin loads on macOS 11 to report "Core ML ML Programs need macOS 12 or later" rather than failing
# to load. test/coreml-runtime-typecheck.test.js reads this value and type-checks the .mm against it.
set(coreml_deployment_target 11.0)

set(coreml_source_dir "${CMAKE_CURRENT_LIST_DIR}")
include("${coreml_source_dir}/model_builder_sources.cmake")

if(APPLE)
  enable_language(OBJCXX)
  find_library(coreml_framework CoreML)
  find_library(coreml_foundation Foundation)
  if(NOT coreml_framework OR NOT coreml_foundation)
    stridekit_skip_plugin(coreml "CoreML.framework or Foundation.framework not found by find_library")
  else()
    stridekit_add_plugin(coreml
      SOURCES
        "${coreml_source_dir}/coreml_backend.cc"
        "${coreml_source_dir}/coreml_plan.cc"
        "${coreml_source_dir}/coreml_runtime.mm"
        "${coreml_source_dir}/model_cache.cc"
        ${coreml_model_builder_sources}
      LIBRARIES "${coreml_framework}" "${coreml_foundation}")
    # Objective-C objects are reference counted by the compiler (ARC); the C++ files are unaffected.
    set_source_files_properties("${coreml_source_dir}/coreml_runtime.mm"
      PROPERTIES COMPILE_OPTIONS "-fobjc-arc")
    # Hidden by default as the C++ files are (CMAKE_CXX_VISIBILITY_PRESET covers C++ only): the entry
    # symbol alone is exported (SK_EXPORT).
    set_target_properties(stridekit_coreml PROPERTIES OBJCXX_STANDARD 17 OBJCXX_STANDARD_REQUIRED ON
      OBJCXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
    if(CMAKE_OSX_DEPLOYMENT_TARGET)
      # A deployment target chosen for the whole build wins; below macOS 11 there is no arm64 and no core.
      message(STATUS "stridekit: coreml plugin deployment target ${CMAKE_OSX_DEPLOYMENT_TARGET} (CMAKE_OSX_DEPLOYMENT_TARGET)")
    else()
      target_compile_options(stridekit_coreml PRIVATE "-mmacosx-version-min=${coreml_deployment_target}")
      target_link_options(stridekit_coreml PRIVATE "-mmacosx-version-min=${coreml_deployment_target}")
    endif()
  endif()
else()
  stridekit_skip_plugin(coreml "macOS only")
endif()
