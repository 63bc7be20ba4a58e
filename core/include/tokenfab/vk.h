// The Vulkan compute runtime, in one include: device choice and report (vk_device.h), buffers
// sub-allocated from large blocks and split to fit binding limits (vk_buffer.h), pipelines from
// embedded SPIR-V and the command recorder (vk_compute.h).
//
// Ownership: a Device (held in a std::unique_ptr) outlives every Buffer, Recorder and Pipeline
// made from it. Destroy buffers and recorders before the device.
#pragma once

#include "tokenfab/vk_buffer.h"
#include "tokenfab/vk_compute.h"
#include "tokenfab/vk_device.h"
