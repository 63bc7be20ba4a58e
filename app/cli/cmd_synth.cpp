// tokenfab-cli synth --shape NAME --type q8_0|q4_0|q4_k_m|f16 -o FILE [--seed N] [--layers N] [--zeros] [-t
// N] [-q] tokenfab-cli synth --list Writes a random-weight GGUF with the exact tensor shapes and
// llama-quantize type mix of a real model (core/include/tokenfab/synth.h), for benchmarks: `tokenfab-cli
// bench -m FILE`.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include "cli.h"
#include "tokenfab/synth.h"

namespace tokenfab::cli {
namespace {

constexpr int kExitInterrupted = 130;  // the shell's convention for SIGINT

std::atomic<bool> g_synth_cancel{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void onSynthInterrupt(int) { g_synth_cancel.store(true); }

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// "1.236B", "494.0M", "107.1K": parameter counts as model cards write them.
std::string paramText(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) {
    std::snprintf(buf, sizeof buf, "%.3fB", static_cast<double>(n) / 1e9);
  } else if (n >= 1000000ull) {
    std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(n) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fK", static_cast<double>(n) / 1e3);
  }
  return buf;
}

int listShapes() {
  std::printf("%-14s %-6s %7s %6s %6s %4s %6s %7s %8s %-5s %8s", "shape", "arch", "vocab", "embd", "layers",
              "head", "kv", "ffn", "params", "tied", "ctx");
  for (synth::FileType t : synth::fileTypes())
    std::printf(" %9s", std::string(synth::fileTypeName(t)).c_str());
  std::printf("\n");
  for (const synth::Shape& s : synth::shapes()) {
    std::printf("%-14s %-6s %7u %6u %6u %4u %6u %7u %8s %-5s %8u", s.name.c_str(), s.arch.c_str(), s.n_vocab,
                s.n_embd, s.n_layer, s.n_head, s.n_head_kv, s.n_ff,
                paramText(synth::parameterCount(s)).c_str(), s.tied_output ? "yes" : "no", s.n_ctx_train);
    for (synth::FileType t : synth::fileTypes()) {
      Result<uint64_t> bytes = synth::fileSize(s, t);
      if (!bytes) return failure("synth: " + bytes.status().toString());
      std::printf(" %7.0fMB", static_cast<double>(*bytes) / 1e6);
    }
    std::printf("\n");
  }
  std::printf("sizes are file sizes in MB (1e6 bytes); types follow llama-quantize's mix for the ftype\n");
  return kExitOk;
}

int runSynth(std::span<const std::string> raw) {
  Args args(raw);
  if (args.flag("--help", "-h")) {
    std::printf(
        "usage: tokenfab-cli synth --shape NAME --type q8_0|q4_0|q4_k_m|f16 -o FILE [--seed N] [--layers N] "
        "[--zeros] [-t N] [-q]\n"
        "       tokenfab-cli synth --list\n"
        "  Writes a GGUF with random weights and the exact tensor shapes and types of a real model\n"
        "  (as llama.cpp's converter and llama-quantize make it) and a synthetic tokenizer, for\n"
        "  benchmarks: tokenfab-cli bench -m FILE. The output text is gibberish.\n"
        "  --layers N keeps only the first N blocks (quick tests); --seed picks the weights (default 1).\n"
        "  -t/--threads N quantizes on N threads (default 2).\n"
        "  --zeros leaves every matrix zero (a sparse file, written at once): loads, but measures nothing "
        "real.\n");
    return kExitOk;
  }
  const bool list = args.flag("--list");
  const bool quiet = args.flag("--quiet", "-q");
  const bool zeros = args.flag("--zeros");
  const auto shape_name = args.value("--shape");
  const auto type_name = args.value("--type");
  const auto out = args.value("--output", "-o");
  const auto seed_text = args.value("--seed");
  const auto layers_text = args.value("--layers");
  const auto threads_text = args.value("--threads", "-t");
  if (!args.unknownOptions().empty()) return usageError("synth: unknown option " + args.unknownOptions()[0]);
  if (!args.positionals().empty()) return usageError("synth: unexpected argument " + args.positionals()[0]);
  if (list) return listShapes();
  if (!shape_name || !type_name || !out)
    return usageError("synth: need --shape, --type and -o FILE (see --help)");

  Result<synth::Shape> shape = synth::findShape(*shape_name);
  if (!shape) return usageError("synth: " + shape.status().message());
  Result<synth::FileType> type = synth::parseFileType(*type_name);
  if (!type) return usageError("synth: " + type.status().message());
  synth::Options options;
  options.type = *type;
  options.zero_weights = zeros;
  try {
    if (seed_text) options.seed = std::stoull(*seed_text);
    if (threads_text) {
      const unsigned long threads = std::stoul(*threads_text);
      if (threads == 0 || threads > 64) return usageError("synth: --threads must be 1..64");
      options.threads = static_cast<uint32_t>(threads);
    }
    if (layers_text) {
      const unsigned long layers = std::stoul(*layers_text);
      if (layers == 0 || layers > shape->n_layer)
        return usageError("synth: --layers must be 1.." + std::to_string(shape->n_layer) + " for " +
                          shape->name);
      options.n_layer = static_cast<uint32_t>(layers);
    }
  } catch (const std::exception&) {
    return usageError("synth: --seed, --layers and --threads take a non-negative integer");
  }
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  if (!quiet) {
    options.progress = [tty](const synth::Progress& p) {
      const bool last = p.tensor == p.n_tensors;
      if (!tty && !last && p.tensor % 16 != 0) return;
      std::fprintf(stderr, "%s[%4zu/%4zu] %-28.*s %8.1f / %.1f MB%s", tty ? "\r" : "", p.tensor, p.n_tensors,
                   static_cast<int>(p.name.size()), p.name.data(), static_cast<double>(p.bytes_written) / 1e6,
                   static_cast<double>(p.bytes_total) / 1e6, tty && !last ? "" : "\n");
      std::fflush(stderr);
    };
  }
  const auto start = std::chrono::steady_clock::now();
  g_synth_cancel = false;
  options.cancel = &g_synth_cancel;
  auto previous = std::signal(SIGINT, onSynthInterrupt);
  Result<synth::Summary> summary = synth::synthesize(*shape, options, *out);
  std::signal(SIGINT, previous);
  if (!summary && summary.status().code() == Code::kCancelled) {
    std::fprintf(stderr, "\ntokenfab-cli: synth: interrupted, no file written\n");
    return kExitInterrupted;
  }
  if (!summary) return failure("synth: " + summary.status().toString());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %s: %s %s, %zu tensors, %s parameters, %llu bytes (%.1f MiB), seed %llu, %.1f s\n",
              out->c_str(), shape->name.c_str(), std::string(synth::fileTypeName(options.type)).c_str(),
              summary->n_tensors, paramText(summary->n_params).c_str(),
              static_cast<unsigned long long>(summary->file_bytes), mib(summary->file_bytes),
              static_cast<unsigned long long>(options.seed), seconds);
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("synth", "write a random-weight GGUF at a real model's shapes (for benchmarks)", runSynth);

}  // namespace tokenfab::cli
