# The coreml plugin: libstridekit_coreml.dylib against Apple's CoreML.framework, macOS only.
#
# The model builder (model_builder_sources.cmake) is portable C++ with no Apple header, which
# tools/coreml-model-tool/ also builds on every platform to check the models with coremltools. The
# plugin adds the Objective-C++ file that calls Core ML (coreml_runtime.mm), the table and the plans and
# needs macOS 12 (the first Core ML with ML Programs); elsewhere it is skipped with "macOS only", the
# reason the facade gives for it there (lib/backends.ts).

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
        ${coreml_model_builder_sources}
      LIBRARIES "${coreml_framework}" "${coreml_foundation}")
    # Objective-C objects are reference counted by the compiler (ARC); the C++ files are unaffected.
    set_source_files_properties("${coreml_source_dir}/coreml_runtime.mm"
      PROPERTIES COMPILE_OPTIONS "-fobjc-arc")
    set_target_properties(stridekit_coreml PROPERTIES OBJCXX_STANDARD 17 OBJCXX_STANDARD_REQUIRED ON)
  endif()
else()
  stridekit_skip_plugin(coreml "macOS only")
endif()
