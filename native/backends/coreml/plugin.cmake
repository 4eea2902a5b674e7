# The coreml plugin: libstridekit_coreml.dylib against Apple's CoreML.framework, macOS only.
#
# The model builder (protobuf_writer, mil_block, model_builder, model_package, compute_units) is portable
# C++ with no Apple header: it is built on every platform into the stridekit_coreml_model tool
# (build/plugins/tools/), which test/coreml-model.test.js uses to check the models with coremltools on
# Linux. The plugin adds the Objective-C++ file that calls Core ML (coreml_runtime.mm), the table and the plans
# and needs macOS 12 (the first Core ML with ML Programs); elsewhere the plugin is a stand-in whose
# probe gives the reason "macOS only" (macos_only.cc), since the core knows no backend by name.

set(coreml_source_dir "${CMAKE_CURRENT_LIST_DIR}")
set(coreml_portable_sources
  "${coreml_source_dir}/protobuf_writer.cc"
  "${coreml_source_dir}/mil_types.cc"
  "${coreml_source_dir}/mil_block.cc"
  "${coreml_source_dir}/model_builder.cc"
  "${coreml_source_dir}/model_package.cc"
  "${coreml_source_dir}/compute_units.cc")

add_executable(stridekit_coreml_model "${coreml_source_dir}/coreml_model_tool.cc" ${coreml_portable_sources})
target_include_directories(stridekit_coreml_model PRIVATE "${STRIDEKIT_INCLUDE_DIR}")
set_target_properties(stridekit_coreml_model PROPERTIES RUNTIME_OUTPUT_DIRECTORY "$<1:${CMAKE_BINARY_DIR}/tools>")
message(STATUS "stridekit: coreml model tool will be built as tools/stridekit_coreml_model")

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
        ${coreml_portable_sources}
      LIBRARIES "${coreml_framework}" "${coreml_foundation}")
    # Objective-C objects are reference counted by the compiler (ARC); the C++ files are unaffected.
    set_source_files_properties("${coreml_source_dir}/coreml_runtime.mm"
      PROPERTIES COMPILE_OPTIONS "-fobjc-arc")
    set_target_properties(stridekit_coreml PROPERTIES OBJCXX_STANDARD 17 OBJCXX_STANDARD_REQUIRED ON)
  endif()
else()
  stridekit_add_plugin(coreml SOURCES "${coreml_source_dir}/macos_only.cc")
  message(STATUS "stridekit: coreml is macOS only: its plugin here is a stand-in whose probe says so")
endif()
