# The coreml backend's portable model builder: protobuf writer, MIL block, model builder, package writer
# and compute units, plain C++ with no Apple header. One list for the two programs that build it: the
# plugin (plugin.cmake, macOS) and the model tool (tools/coreml-model-tool/, every platform).
set(coreml_model_builder_sources
  "${CMAKE_CURRENT_LIST_DIR}/protobuf_writer.cc"
  "${CMAKE_CURRENT_LIST_DIR}/mil_types.cc"
  "${CMAKE_CURRENT_LIST_DIR}/mil_block.cc"
  "${CMAKE_CURRENT_LIST_DIR}/model_builder.cc"
  "${CMAKE_CURRENT_LIST_DIR}/model_package.cc"
  "${CMAKE_CURRENT_LIST_DIR}/compute_units.cc")
set(coreml_model_builder_include_dir "${CMAKE_CURRENT_LIST_DIR}")
