// Vendor datasheet figures for devices Vulkan does not describe (it reports neither memory bus
// width nor clocks): the physical bandwidth and peak arithmetic rates shown next to what tokenfab
// measures. Matched by a substring of the device name; first match wins, so longer names first.
#include "tokenfab/vk_device.h"

namespace tokenfab::vk {
namespace {

struct Entry {
  const char* name;
  Datasheet sheet;
};

// memory GB/s, dense f16 TFLOP/s on matrix units (f32 accumulate), f32 TFLOP/s
const Entry kEntries[] = {
    {"H200", {4800, 989, 67}},
    {"H100 80GB HBM3", {3350, 989, 67}},
    {"H100 PCIe", {2000, 756, 51}},
    {"H100", {3350, 989, 67}},
    {"A100-SXM4-80GB", {2039, 312, 19.5}},
    {"A100 80GB PCIe", {1935, 312, 19.5}},
    {"A100", {1555, 312, 19.5}},
    {"L40S", {864, 362, 91.6}},
    {"RTX 4090", {1008, 165, 82.6}},
    {"RTX 3090", {936, 71, 35.6}},
    {"MI300X", {5300, 1307, 163.4}},
    {"RX 7900 XTX", {960, 123, 61.4}},
};

}  // namespace

std::optional<Datasheet> datasheetFor(const std::string& device_name) {
  for (const Entry& e : kEntries)
    if (device_name.find(e.name) != std::string::npos) return e.sheet;
  return std::nullopt;
}

}  // namespace tokenfab::vk
