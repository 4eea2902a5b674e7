# The CPU backend's C++ sources, listed once: binding.gyp includes this file into the addon's
# target, and the native checks' CMake project (test/fixtures/cpu/CMakeLists.txt) reads the same
# names, one quoted name a line. File names are relative to this folder (gyp rebases them).
{
  'sources': [
    'conv_forward.cc',
    'conv_transposed.cc',
    'cpu_backend.cc',
    'cpu_features.cc',
    'depthwise.cc',
    'direct.cc',
    'edge_tiles.cc',
    'large_pages.cc',
    'microkernel_avx2.cc',
    'microkernel_avx512.cc',
    'microkernel_generic.cc',
    'microkernel_neon.cc',
    'phases.cc',
    'scratch.cc',
    'thread_pool.cc',
  ],
}
