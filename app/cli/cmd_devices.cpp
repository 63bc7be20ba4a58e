// tokenfab-cli devices [--json] [--device INDEX|NAME]: the report of every Vulkan device, the
// one tokenfab would choose marked with '*' (text) or "chosen": true (JSON).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.h"
#include "tokenfab/vk.h"

namespace tokenfab::cli {
namespace {

int runDevices(std::span<const std::string> argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::printf("usage: tokenfab-cli devices [--json] [--device INDEX|NAME]\n"
                "  Lists every Vulkan device with its limits and optional features; '*' marks the one\n"
                "  tokenfab uses (discrete > integrated > virtual > cpu, or --device / TOKENFAB_DEVICE).\n");
    return kExitOk;
  }
  const bool json = args.flag("--json");
  const std::optional<std::string> pick = args.value("--device");
  if (!args.unknownOptions().empty()) return usageError("devices: unknown option " + args.unknownOptions()[0]);
  if (!args.positionals().empty()) return usageError("devices: unexpected argument " + args.positionals()[0]);

  auto devices = vk::Device::enumerate();
  if (!devices.isOk()) return failure(devices.status().toString());
  vk::DeviceOptions options;
  if (pick) options.setChoice(*pick);
  auto chosen = vk::Device::choose(*devices, options);
  if (!chosen.isOk()) return failure(chosen.status().toString());

  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const vk::DeviceReport& d : *devices) {
      nlohmann::json j = nlohmann::json::parse(d.toJson());
      j["chosen"] = d.index == *chosen;
      out.push_back(std::move(j));
    }
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  for (const vk::DeviceReport& d : *devices) {
    std::printf("%s %s", d.index == *chosen ? "*" : " ", d.toText().c_str());
  }
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("devices", "list Vulkan devices, their limits and features [--json]", runDevices);

}  // namespace tokenfab::cli
