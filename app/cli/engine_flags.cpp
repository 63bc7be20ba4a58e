#include "engine_flags.h"

#include <unistd.h>

#include <cstdio>
#include <system_error>

#include "tokenfab/file_util.h"

namespace tokenfab::cli {
namespace {

std::filesystem::path executableDir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

Result<int32_t> parseInt(const std::string& flag, const std::string& text) {
  try {
    size_t used = 0;
    const long v = std::stol(text, &used);
    if (used != text.size() || v < 0 || v > (1l << 30)) throw std::out_of_range(text);
    return static_cast<int32_t>(v);
  } catch (const std::exception&) {
    return Status(Code::kInvalidArgument, flag + " expects a non-negative whole number, got '" + text + "'");
  }
}

}  // namespace

std::optional<std::filesystem::path> findDemoModel() {
#ifdef TOKENFAB_SOURCE_RESOURCES
  return tokenfab::findDemoModel(executableDir(), TOKENFAB_SOURCE_RESOURCES "/models");
#else
  return tokenfab::findDemoModel(executableDir());
#endif
}

Result<EngineFlags> parseEngineFlags(Args& args) {
  EngineFlags f;
  if (auto m = args.value("--model", "-m")) {
    f.model = *m;
  } else if (auto demo = findDemoModel()) {
    f.model = *demo;
  } else {
    return Status(Code::kInvalidArgument, "no model given (-m MODEL.gguf) and the built-in demo model was not found");
  }
  if (auto d = args.value("--device")) f.options.device = *d;
  if (args.flag("--ref")) f.options.backend = Backend::kReference;
  if (args.flag("--validation")) f.options.validation = true;
  if (args.flag("--kv-f32")) f.options.kv_f16 = false;
  if (args.flag("--no-optional")) f.options.disable_optional = true;
  if (auto c = args.value("--ctx", "-c")) {
    TF_ASSIGN_OR_RETURN(f.n_ctx, parseInt("--ctx", *c));
  }
  if (auto b = args.value("--batch", "-b")) {
    TF_ASSIGN_OR_RETURN(f.options.n_batch, parseInt("--batch", *b));
    if (f.options.n_batch < 1) return Status(Code::kInvalidArgument, "--batch must be at least 1");
  }
  f.quiet = args.flag("--quiet", "-q");
  return f;
}

Result<std::unique_ptr<Engine>> openEngine(const EngineFlags& flags) {
  const bool show = !flags.quiet && isatty(STDERR_FILENO);
  ProgressFn progress = [show](const LoadProgress& p) {
    if (show && p.total > 0)
      std::fprintf(stderr, "\r%.*s %3d%%", int(p.stage.size()), p.stage.data(), int(100.0 * double(p.done) / double(p.total)));
    return true;
  };
  auto engine = Engine::open(flags.model, flags.options, progress);
  if (show) std::fprintf(stderr, "\r\033[K");
  if (!engine.isOk()) return engine.status().withContext(flags.model.string());
  return engine;
}

std::string engineFlagsHelp() {
  return "  -m, --model FILE    GGUF model (default: the built-in demo model)\n"
         "  --device D          Vulkan device index or name substring (see tokenfab-cli devices)\n"
         "  --ref               run on the CPU float64 reference instead of the GPU (slow, exact)\n"
         "  -c, --ctx N         context size (default: the training context, at most 4096)\n"
         "  -b, --batch N       prompt tokens per prefill chunk (default 512)\n"
         "  --kv-f32            keep the KV cache in f32 (default f16)\n"
         "  --validation        enable the Vulkan validation layers\n"
         "  --no-optional       ignore optional device features (fallback shader paths)\n"
         "  -q, --quiet         no progress output\n";
}

}  // namespace tokenfab::cli
