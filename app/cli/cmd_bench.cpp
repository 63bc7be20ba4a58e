// tokenfab-cli bench: prompt processing and generation speed, and how close decode comes to the
// memory-bandwidth limit (weight bytes read per token x tokens/s vs the measured copy bandwidth).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "bench_flops.h"
#include "cli.h"
#include "engine_flags.h"
#include "tokenfab/vk.h"

namespace tokenfab::cli {
namespace {

constexpr const char* kUsage = "usage: tokenfab-cli bench [-m MODEL] [-p 512] [-n 128] [-r 3] [--profile] [--ttft N,...] [--json]\n"
    "  --profile   also time each group of ops of the decode step with GPU timestamps\n"
    "  --ttft N,.. also the time to first token of prompts of N tokens (e.g. 512,4096,16384): each\n"
    "              prefilled once after a warm-up, with tokens/s and TFLOP/s against the device's peak\n"
    "              where known; lengths beyond the model's context are skipped with a note\n"
    "  --json      one JSON object: pp/tg tokens/s, pp_gflops, ttft, bytes per token, GB/s, ...\n";

struct Stat {
  double mean = 0, sd = 0;
};
Stat stat(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / double(v.size() - 1)) : 0.0;
  return s;
}

int32_t argmax(std::span<const float> v) {
  return int32_t(std::max_element(v.begin(), v.end()) - v.begin());
}

// The weight types of the matrices, by bytes stored, largest first: "q4_k+q6_k".
std::string weightTypes(const model::ModelConfig& cfg) {
  std::map<gguf::TensorType, double> bytes;
  auto add = [&](const model::WeightRef& w) {
    const gguf::TypeTraits* traits = gguf::typeTraits(w.type);
    if (w.present() && traits) bytes[w.type] += double(w.rows * w.cols) / traits->block_size * traits->type_size;
  };
  for (const model::LayerWeights& l : cfg.weights.layers)
    for (const model::WeightRef* w : {&l.attn_q, &l.attn_k, &l.attn_v, &l.attn_output, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      add(*w);
  add(cfg.weights.output);
  std::vector<std::pair<double, gguf::TensorType>> order;
  for (const auto& [type, b] : bytes) order.emplace_back(b, type);
  std::sort(order.rbegin(), order.rend());
  std::string out;
  for (const auto& [b, type] : order) {
    if (!out.empty()) out += "+";
    for (char c : gguf::typeName(type)) out += char(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// A prompt of ordinary tokens (fixed, so runs are comparable): ids cycling through the vocabulary.
std::vector<int32_t> benchPrompt(size_t n, int32_t n_vocab) {
  std::vector<int32_t> prompt(n);
  for (size_t i = 0; i < n; ++i) prompt[i] = int32_t((i * 7919 + 13) % size_t(n_vocab));
  return prompt;
}

// --ttft: one prompt length, measured or skipped (with the reason).
struct TtftRow {
  uint32_t n_prompt = 0;
  double ms = 0, tokens_per_s = 0, tflops = 0;
  std::string skipped;
};

// Each length prefilled once on a fresh KV cache, after one warm-up prefill of the first length
// (pipelines, caches). The time is the prefill's: its last logits give the first token.
std::vector<TtftRow> measureTtft(Engine& engine, const std::vector<uint32_t>& lengths, int32_t n_batch) {
  using Clock = std::chrono::steady_clock;
  const auto& cfg = engine.config();
  std::vector<TtftRow> rows;
  uint32_t longest = 0;
  for (uint32_t n : lengths) {
    TtftRow row;
    row.n_prompt = n;
    if (int64_t(n) > cfg.n_ctx_train) row.skipped = "beyond the model's context of " + std::to_string(cfg.n_ctx_train);
    else longest = std::max(longest, n);
    rows.push_back(row);
  }
  if (longest == 0) return rows;
  auto session = engine.newSession(int32_t(longest));
  if (!session.isOk()) {
    for (auto& row : rows)
      if (row.skipped.empty()) row.skipped = session.status().toString();
    return rows;
  }
  const std::vector<int32_t> prompt = benchPrompt(longest, cfg.n_vocab);
  bool warm = false;
  for (auto& row : rows) {
    if (!row.skipped.empty()) continue;
    const std::span<const int32_t> tokens(prompt.data(), row.n_prompt);
    for (int pass = warm ? 1 : 0; pass < 2; ++pass) {
      Status s = (*session)->rewind(0);
      const auto t0 = Clock::now();
      if (s.isOk()) {
        auto logits = (*session)->decode(tokens);
        if (!logits.isOk()) s = logits.status();
      }
      if (!s.isOk()) {
        row.skipped = s.toString();
        break;
      }
      const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
      row.ms = sec * 1000.0;
      row.tokens_per_s = double(row.n_prompt) / sec;
      row.tflops = prefillFlops(cfg, row.n_prompt, n_batch) / sec / 1e12;
    }
    warm = true;
  }
  return rows;
}

int runBench(std::span<const std::string> argv) {
  using Clock = std::chrono::steady_clock;
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::cout << kUsage << "\nmodel options:\n" << engineFlagsHelp();
    return kExitOk;
  }
  auto num = [&](const char* name, int def) {
    auto v = args.value(name);
    return v ? std::max(0, std::atoi(v->c_str())) : def;
  };
  const int n_prompt = num("-p", 512), n_gen = num("-n", 128), reps = std::max(1, num("-r", 3));
  const bool json = args.flag("--json");
  const bool profile = args.flag("--profile");
  std::vector<uint32_t> ttft_lengths;
  if (auto t = args.value("--ttft")) {
    for (const auto& part : splitList(*t)) {
      uint32_t v = 0;
      if (!parseU32(part, &v)) return usageError("--ttft needs positive token counts, e.g. 512,4096,16384");
      ttft_lengths.push_back(v);
    }
    if (ttft_lengths.empty()) return usageError("--ttft needs positive token counts, e.g. 512,4096,16384");
  }
  auto flags = parseEngineFlags(args);
  if (!flags.isOk()) return usageError(flags.status().message());
  if (!args.unknownOptions().empty()) return usageError("unknown option " + args.unknownOptions().front());
  flags->quiet = flags->quiet || json;
  auto engine = openEngine(*flags);
  if (!engine.isOk()) return failure(engine.status().toString());
  const auto& cfg = (*engine)->config();
  auto stream = (*engine)->measureStreamBandwidth();
  const double stream_gbps = stream.isOk() ? *stream : 0.0;
  const double physical_gbps = (*engine)->device().physical_gbps;
  auto session = (*engine)->newSession(std::max(flags->n_ctx, n_prompt + n_gen + 1));
  if (!session.isOk()) return failure(session.status().toString());

  const std::vector<int32_t> prompt = benchPrompt(size_t(std::max(1, n_prompt)), cfg.n_vocab);
  std::vector<double> pp_tps, tg_tps, ttft_ms;
  for (int r = 0; r < reps + 1; ++r) {  // the first run warms pipelines and caches; not counted
    if (!(*session)->rewind(0).isOk()) return failure("rewind failed");
    const auto t0 = Clock::now();
    auto logits = (*session)->decode(prompt);
    if (!logits.isOk()) return failure(logits.status().toString());
    const double pp_s = std::chrono::duration<double>(Clock::now() - t0).count();
    int32_t next = argmax(*logits);
    const auto t1 = Clock::now();
    double first_ms = 0;
    for (int i = 0; i < n_gen; ++i) {
      auto l = (*session)->decode(std::span<const int32_t>(&next, 1));
      if (!l.isOk()) return failure(l.status().toString());
      next = argmax(*l);
      if (i == 0) first_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
    }
    const double tg_s = std::chrono::duration<double>(Clock::now() - t1).count();
    if (r == 0) continue;
    if (n_prompt > 0) pp_tps.push_back(double(prompt.size()) / pp_s);
    if (n_gen > 0) tg_tps.push_back(double(n_gen) / tg_s);
    ttft_ms.push_back(pp_s * 1000.0 + first_ms);
  }
  const Stat pp = stat(pp_tps), tg = stat(tg_tps), ttft = stat(ttft_ms);
  // pp FLOP/s: the prefill's arithmetic (bench_flops.h) over its mean time.
  const double pp_flops = n_prompt > 0 ? prefillFlops(cfg, n_prompt, flags->options.n_batch) : 0.0;
  const double pp_gflops = pp.mean > 0 ? pp_flops * pp.mean / double(n_prompt) / 1e9 : 0.0;
  // Profiled decode steps, after (and apart from) the timed runs: timestamps cost a little.
  std::vector<OpTime> ops;
  double profiled_wall_ms = 0;
  int64_t profiled_steps = 0;
  if (profile && n_gen > 0) {
    if (!(*session)->rewind(0).isOk()) return failure("rewind failed");
    auto logits = (*session)->decode(prompt);
    if (!logits.isOk()) return failure(logits.status().toString());
    int32_t next = argmax(*logits);
    (*session)->resetTimings();
    (*session)->setProfiling(true);
    const auto t0 = Clock::now();
    for (int i = 0; i < n_gen; ++i) {
      auto l = (*session)->decode(std::span<const int32_t>(&next, 1));
      if (!l.isOk()) return failure(l.status().toString());
      next = argmax(*l);
    }
    profiled_wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    (*session)->setProfiling(false);
    ops = (*session)->timings().decode_ops;
    profiled_steps = (*session)->timings().profiled_steps;
  }
  const Timings& t = (*session)->timings();
  const std::vector<TtftRow> ttft_rows =
      ttft_lengths.empty() ? std::vector<TtftRow>{} : measureTtft(**engine, ttft_lengths, flags->options.n_batch);
  const std::string& path = (*engine)->device().prefill_path;
  const std::optional<vk::Datasheet> peak = vk::datasheetFor((*engine)->device().name);
  // The peak of the units the prompt products run on: tensor cores for coopmat, else f32.
  const double path_peak = !peak ? 0.0 : path == "coopmat" ? peak->matrix_f16_tflops : peak->f32_tflops;
  const double bytes = double(t.weight_bytes_per_token);
  const double gbps = bytes * tg.mean / 1e9;
  const double fraction = stream_gbps > 0 ? gbps / stream_gbps : 0.0;
  std::error_code size_error;
  const auto file_size = std::filesystem::file_size(flags->model, size_error);
  const uint64_t file_bytes = size_error ? 0 : uint64_t(file_size);
  if (json) {
    nlohmann::ordered_json out = {
        {"model", flags->model.filename().string()}, {"device", (*engine)->device().name},
        {"backend", (*engine)->backend() == Backend::kVulkan ? "vulkan" : "reference"},
        {"weight_types", weightTypes(cfg)}, {"file_bytes", file_bytes},
        {"n_prompt", n_prompt}, {"n_gen", n_gen}, {"repetitions", reps},
        {"pp_tokens_per_s", pp.mean}, {"pp_sd", pp.sd}, {"pp_flops", pp_flops}, {"pp_gflops", pp_gflops}, {"tg_tokens_per_s", tg.mean}, {"tg_sd", tg.sd},
        {"time_to_first_token_ms", ttft.mean}, {"weight_bytes_per_token", t.weight_bytes_per_token},
        {"achieved_gbps", gbps}, {"stream_gbps", stream_gbps}, {"bandwidth_fraction", fraction},
        {"physical_gbps", physical_gbps},
        {"dispatches_per_token", t.dispatches_per_token}};
    if (!ttft_rows.empty()) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const TtftRow& r : ttft_rows) {
        if (!r.skipped.empty()) list.push_back({{"n_prompt", r.n_prompt}, {"skipped", r.skipped}});
        else list.push_back({{"n_prompt", r.n_prompt}, {"ms", r.ms}, {"tokens_per_s", r.tokens_per_s}, {"tflops", r.tflops}});
      }
      out["ttft"] = list;
      out["prefill_path"] = path;
      out["peak_tflops"] = peak ? nlohmann::ordered_json{{"f16_tensor", peak->matrix_f16_tflops}, {"f32", peak->f32_tflops}}
                                : nlohmann::ordered_json(nullptr);
    }
    if (profiled_steps > 0) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const OpTime& op : ops) list.push_back({{"op", op.op}, {"ms_per_token", op.ns / 1e6 / double(profiled_steps)}});
      out["decode_ops"] = list;
      out["profiled_wall_ms_per_token"] = profiled_wall_ms / double(n_gen);
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("model      %s (%s)\n", flags->model.filename().string().c_str(), cfg.summary().c_str());
  std::printf("device     %s\n", (*engine)->device().name.c_str());
  std::printf("pp%-6d   %10.1f ± %.1f tokens/s, %.2f GFLOP/s\n", n_prompt, pp.mean, pp.sd, pp_gflops);
  std::printf("tg%-6d   %10.1f ± %.1f tokens/s\n", n_gen, tg.mean, tg.sd);
  std::printf("ttft       %10.1f ms (prompt of %d + first token)\n", ttft.mean, n_prompt);
  std::printf("weights    %10.2f MB read per token, %u dispatches per token (%s, file %.1f MB)\n", bytes / 1e6,
              t.dispatches_per_token, weightTypes(cfg).c_str(), double(file_bytes) / 1e6);
  std::printf("bandwidth  %10.2f GB/s achieved, streaming bandwidth %.2f GB/s measured: %.1f%% of it", gbps, stream_gbps,
              100 * fraction);
  if (physical_gbps > 0) std::printf(" (datasheet %.0f GB/s)", physical_gbps);
  std::printf("\n");
  if (!ttft_rows.empty()) {
    std::printf("\ntime to first token (each prompt prefilled once after a warm-up; products on %s units", path.c_str());
    if (peak) std::printf(", peak %.0f TFLOP/s f16 tensor, %.1f f32):\n", peak->matrix_f16_tflops, peak->f32_tflops);
    else std::printf(", peak unknown):\n");
    std::printf("  %8s %10s %12s %9s %10s\n", "tokens", "ms", "tokens/s", "TFLOP/s", "of peak");
    for (const TtftRow& r : ttft_rows) {
      if (!r.skipped.empty()) {
        std::printf("  %8u skipped: %s\n", r.n_prompt, r.skipped.c_str());
        continue;
      }
      std::printf("  %8u %10.1f %12.1f %9.3f", r.n_prompt, r.ms, r.tokens_per_s, r.tflops);
      if (path_peak > 0) std::printf(" %9.1f%%\n", 100.0 * r.tflops / path_peak);
      else std::printf(" %10s\n", "-");
    }
  }
  if (profiled_steps > 0) {
    double gpu_ns = 0;
    for (const OpTime& op : ops) gpu_ns += op.ns;
    const double steps = double(profiled_steps), wall_ms = profiled_wall_ms / double(n_gen);
    std::printf("\ndecode step, GPU time per group of ops (%lld profiled steps):\n", static_cast<long long>(profiled_steps));
    for (const OpTime& op : ops)
      std::printf("  %-16s %9.3f ms  %5.1f%%\n", op.op.c_str(), op.ns / 1e6 / steps, 100 * op.ns / std::max(1.0, gpu_ns));
    std::printf("  %-16s %9.3f ms of %.3f ms wall per token (the rest: recording, submission, host)\n", "GPU total",
                gpu_ns / 1e6 / steps, wall_ms);
  }
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("bench", "prompt and generation speed, achieved memory bandwidth", runBench);

}  // namespace tokenfab::cli
