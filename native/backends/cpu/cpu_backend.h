// The CPU backend's entry point: compiled into the core, reached through the same table as a plugin.
#pragma once

#include "stridekit/backend.h"

extern "C" const sk_backend* stridekit_cpu_backend_entry(uint32_t host_abi_version, sk_error* error);
