// The curated catalogue: small chat models published as GGUF on the Hugging Face hub.
// Repository and file names as published, checked 2026-11-23; sizes are approximate (as the hub
// lists them). docs/models.md carries the same table.
#include <algorithm>
#include <cctype>

#include "tokenfab/download.h"

namespace tokenfab::download {
namespace {

constexpr uint64_t kMB = 1000ull * 1000ull;

constexpr CatalogueEntry kCatalogue[] = {
    {"qwen2.5-0.5b-instruct:q4_k_m", "Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf",
     491 * kMB, "apache-2.0"},
    {"qwen2.5-0.5b-instruct:q8_0", "Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q8_0.gguf",
     676 * kMB, "apache-2.0"},
    {"qwen2.5-1.5b-instruct:q4_k_m", "Qwen/Qwen2.5-1.5B-Instruct-GGUF", "qwen2.5-1.5b-instruct-q4_k_m.gguf",
     1120 * kMB, "apache-2.0"},
    {"qwen2.5-1.5b-instruct:q8_0", "Qwen/Qwen2.5-1.5B-Instruct-GGUF", "qwen2.5-1.5b-instruct-q8_0.gguf",
     1890 * kMB, "apache-2.0"},
    {"llama-3.2-1b-instruct:q4_k_m", "bartowski/Llama-3.2-1B-Instruct-GGUF",
     "Llama-3.2-1B-Instruct-Q4_K_M.gguf", 808 * kMB, "llama3.2"},
    {"llama-3.2-1b-instruct:q8_0", "bartowski/Llama-3.2-1B-Instruct-GGUF", "Llama-3.2-1B-Instruct-Q8_0.gguf",
     1320 * kMB, "llama3.2"},
    {"llama-3.2-3b-instruct:q4_k_m", "bartowski/Llama-3.2-3B-Instruct-GGUF",
     "Llama-3.2-3B-Instruct-Q4_K_M.gguf", 2020 * kMB, "llama3.2"},
    {"llama-3.2-3b-instruct:q8_0", "bartowski/Llama-3.2-3B-Instruct-GGUF", "Llama-3.2-3B-Instruct-Q8_0.gguf",
     3420 * kMB, "llama3.2"},
    {"smollm2-360m-instruct:q4_k_m", "bartowski/SmolLM2-360M-Instruct-GGUF",
     "SmolLM2-360M-Instruct-Q4_K_M.gguf", 271 * kMB, "apache-2.0"},
    {"smollm2-360m-instruct:q8_0", "bartowski/SmolLM2-360M-Instruct-GGUF", "SmolLM2-360M-Instruct-Q8_0.gguf",
     386 * kMB, "apache-2.0"},
    {"smollm2-1.7b-instruct:q4_k_m", "bartowski/SmolLM2-1.7B-Instruct-GGUF",
     "SmolLM2-1.7B-Instruct-Q4_K_M.gguf", 1060 * kMB, "apache-2.0"},
    {"smollm2-1.7b-instruct:q8_0", "bartowski/SmolLM2-1.7B-Instruct-GGUF", "SmolLM2-1.7B-Instruct-Q8_0.gguf",
     1820 * kMB, "apache-2.0"},
    {"tinyllama-1.1b-chat:q4_k_m", "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF",
     "tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", 669 * kMB, "apache-2.0"},
    {"tinyllama-1.1b-chat:q8_0", "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF",
     "tinyllama-1.1b-chat-v1.0.Q8_0.gguf", 1170 * kMB, "apache-2.0"},
};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::span<const CatalogueEntry> catalogue() { return kCatalogue; }

const CatalogueEntry* findCatalogueEntry(std::string_view name) {
  for (const CatalogueEntry& entry : kCatalogue) {
    if (equalsIgnoreCase(entry.name, name)) return &entry;
  }
  return nullptr;
}

}  // namespace tokenfab::download
