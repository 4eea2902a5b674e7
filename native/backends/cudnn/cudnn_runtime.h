// The CUDA device this plugin runs on, chosen once at probe time: STRIDEKIT_CUDA_DEVICE (an ordinal,
// default 0). The probe tells why the backend is unavailable in the words a user can act on: no driver,
// driver too old, no device, a cuDNN that does not start.
#pragma once

#include <cstddef>
#include <string>

namespace stridekit::cudnn {

struct Device {
  int ordinal = 0;
  int major = 0, minor = 0;  // compute capability
  std::string name;
  size_t memory = 0;         // bytes
};

// Finds the driver, the device and a working cuDNN. On failure returns false with *reason set; never
// throws. On success *description reads "NVIDIA H100 80GB HBM3 (cuda:0, compute 9.0, 79.2 GiB), cuDNN
// 9.28.1, CUDA runtime 13.5, driver 13.0".
bool open_device(std::string* description, std::string* reason);

// The device chosen by a successful open_device(); plans are only created after one.
const Device& device();

// Makes the chosen device current on the calling thread: the core calls plans from several threads,
// and CUDA's current device is per thread.
void use_device();

}  // namespace stridekit::cudnn
