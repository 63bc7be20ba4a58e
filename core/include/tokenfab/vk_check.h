// VkResult -> Status. Device loss and out-of-memory keep their own codes so callers can react.
#pragma once

#include <vulkan/vulkan.h>

#include <string_view>

#include "tokenfab/status.h"

namespace tokenfab::vk {

// kOk for VK_SUCCESS (and other non-negative results); otherwise a Status naming the call.
Status vkStatus(VkResult result, std::string_view call);
std::string_view vkResultName(VkResult result);

}  // namespace tokenfab::vk

// TF_VK_CHECK(vkCreateFence(...)); returns a Status naming the call from the enclosing function.
#define TF_VK_CHECK(call) TF_RETURN_IF_ERROR(::tokenfab::vk::vkStatus((call), #call))
