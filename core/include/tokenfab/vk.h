// The Vulkan compute runtime, in one include: device choice and report (vk_device.h), buffers
// sub-allocated from large blocks and split to fit binding limits (vk_buffer.h), pipelines from
// embedded SPIR-V and the command recorder (vk_compute.h).
//
// Typical use (see tests/gpu/vk_runtime_test.cpp):
//   TF_ASSIGN_OR_RETURN(auto device, vk::Device::create({}));
//   TF_ASSIGN_OR_RETURN(vk::Buffer x, device->createBuffer(bytes));
//   TF_RETURN_IF_ERROR(device->upload(x.view(), host_ptr, bytes));
//   TF_ASSIGN_OR_RETURN(vk::Recorder rec, device->newRecorder());
//   TF_RETURN_IF_ERROR(ops::recordRmsNorm(rec, ...));  // or rec.dispatch(*pipeline, {views}, params, groups)
//   rec.barrier();                                      // between dependent dispatches
//   TF_RETURN_IF_ERROR(rec.submitAndWait());
//
// Ownership: a Device (held in a std::unique_ptr) outlives every Buffer, Recorder and Pipeline
// made from it. Destroy buffers and recorders before the device.
#pragma once

#include "tokenfab/vk_buffer.h"
#include "tokenfab/vk_compute.h"
#include "tokenfab/vk_device.h"
