#include "tokenfab/vk_check.h"

#include <string>

namespace tokenfab::vk {

std::string_view vkResultName(VkResult result) {
  switch (result) {
#define TF_VK_RESULT(r) \
  case r:               \
    return #r;
    TF_VK_RESULT(VK_SUCCESS)
    TF_VK_RESULT(VK_NOT_READY)
    TF_VK_RESULT(VK_TIMEOUT)
    TF_VK_RESULT(VK_INCOMPLETE)
    TF_VK_RESULT(VK_ERROR_OUT_OF_HOST_MEMORY)
    TF_VK_RESULT(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    TF_VK_RESULT(VK_ERROR_INITIALIZATION_FAILED)
    TF_VK_RESULT(VK_ERROR_DEVICE_LOST)
    TF_VK_RESULT(VK_ERROR_MEMORY_MAP_FAILED)
    TF_VK_RESULT(VK_ERROR_LAYER_NOT_PRESENT)
    TF_VK_RESULT(VK_ERROR_EXTENSION_NOT_PRESENT)
    TF_VK_RESULT(VK_ERROR_FEATURE_NOT_PRESENT)
    TF_VK_RESULT(VK_ERROR_INCOMPATIBLE_DRIVER)
    TF_VK_RESULT(VK_ERROR_TOO_MANY_OBJECTS)
    TF_VK_RESULT(VK_ERROR_FORMAT_NOT_SUPPORTED)
    TF_VK_RESULT(VK_ERROR_FRAGMENTED_POOL)
    TF_VK_RESULT(VK_ERROR_OUT_OF_POOL_MEMORY)
    TF_VK_RESULT(VK_ERROR_UNKNOWN)
#undef TF_VK_RESULT
    default:
      return "VK_ERROR_(other)";
  }
}

Status vkStatus(VkResult result, std::string_view call) {
  if (result >= 0) return Status::ok();
  std::string msg(call);
  msg += " failed: ";
  msg += vkResultName(result);
  msg += " (" + std::to_string(static_cast<int>(result)) + ")";
  switch (result) {
    case VK_ERROR_DEVICE_LOST:
      return Status(Code::kVkDeviceLost, std::move(msg));
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
      return Status(Code::kVkOutOfDeviceMemory, std::move(msg));
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      return Status(Code::kVkNoDevice, std::move(msg));
    case VK_ERROR_EXTENSION_NOT_PRESENT:
    case VK_ERROR_FEATURE_NOT_PRESENT:
    case VK_ERROR_LAYER_NOT_PRESENT:
      return Status(Code::kVkMissingFeature, std::move(msg));
    default:
      return Status(Code::kVkError, std::move(msg));
  }
}

}  // namespace tokenfab::vk
