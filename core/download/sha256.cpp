// SHA-256 as specified in FIPS 180-4 (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3, 6.2).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "download/file_hash.h"
#include "tokenfab/download.h"

namespace tokenfab::download {
namespace {

// First 32 bits of the fractional parts of the cube roots of the first 64 primes (FIPS 180-4 4.2.2).
constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// First 32 bits of the fractional parts of the square roots of the first 8 primes (5.3.3).
constexpr std::array<uint32_t, 8> kInitialState = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

}  // namespace

Sha256::Sha256() : m_state(kInitialState), m_buffer{} {}

void Sha256::compress(const uint8_t* block) {
  uint32_t w[64];  // message schedule
  for (int t = 0; t < 16; ++t) {
    w[t] = (uint32_t(block[4 * t]) << 24) | (uint32_t(block[4 * t + 1]) << 16) |
           (uint32_t(block[4 * t + 2]) << 8) | uint32_t(block[4 * t + 3]);
  }
  for (int t = 16; t < 64; ++t) {
    const uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    const uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = m_state[0], b = m_state[1], c = m_state[2], d = m_state[3];
  uint32_t e = m_state[4], f = m_state[5], g = m_state[6], h = m_state[7];
  for (int t = 0; t < 64; ++t) {
    const uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    const uint32_t ch = (e & f) ^ (~e & g);
    const uint32_t t1 = h + big_s1 + ch + kRoundConstants[t] + w[t];
    const uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    const uint32_t t2 = big_s0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  m_state[0] += a;
  m_state[1] += b;
  m_state[2] += c;
  m_state[3] += d;
  m_state[4] += e;
  m_state[5] += f;
  m_state[6] += g;
  m_state[7] += h;
}

void Sha256::update(std::span<const uint8_t> bytes) {
  m_total_bytes += bytes.size();
  size_t pos = 0;
  if (m_buffer_len > 0) {
    const size_t take = std::min(bytes.size(), 64 - m_buffer_len);
    std::memcpy(m_buffer.data() + m_buffer_len, bytes.data(), take);
    m_buffer_len += take;
    pos = take;
    if (m_buffer_len < 64) return;
    compress(m_buffer.data());
    m_buffer_len = 0;
  }
  for (; pos + 64 <= bytes.size(); pos += 64) compress(bytes.data() + pos);
  if (pos < bytes.size()) {
    std::memcpy(m_buffer.data(), bytes.data() + pos, bytes.size() - pos);
    m_buffer_len = bytes.size() - pos;
  }
}

void Sha256::update(std::string_view text) {
  update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::array<uint8_t, 32> Sha256::finish() {
  // Padding (5.1.1): a 1 bit, zeros up to 56 mod 64 bytes, then the bit length big-endian.
  const uint64_t bit_length = m_total_bytes * 8;
  m_buffer[m_buffer_len++] = 0x80;
  if (m_buffer_len > 56) {
    std::memset(m_buffer.data() + m_buffer_len, 0, 64 - m_buffer_len);
    compress(m_buffer.data());
    m_buffer_len = 0;
  }
  std::memset(m_buffer.data() + m_buffer_len, 0, 56 - m_buffer_len);
  for (int i = 0; i < 8; ++i) m_buffer[56 + i] = uint8_t(bit_length >> (56 - 8 * i));
  compress(m_buffer.data());

  std::array<uint8_t, 32> digest{};
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 4; ++j) digest[4 * i + j] = uint8_t(m_state[i] >> (24 - 8 * j));
  }
  m_state = kInitialState;
  m_buffer_len = 0;
  m_total_bytes = 0;
  return digest;
}

std::string Sha256::toHex(const std::array<uint8_t, 32>& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Result<uint64_t> hashFileInto(const std::filesystem::path& path, Sha256& hasher, const std::atomic<bool>* cancel,
                              const std::function<void(uint64_t)>& on_chunk) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kIoError, "cannot open " + path.string() + " to hash it");
  std::vector<uint8_t> chunk(kHashChunkBytes);
  uint64_t total = 0;
  while (in) {
    if (cancel && cancel->load(std::memory_order_relaxed)) {
      return Status(Code::kCancelled, "cancelled while hashing " + path.string() + " (" + std::to_string(total) +
                                          " bytes done)");
    }
    in.read(reinterpret_cast<char*>(chunk.data()), std::streamsize(chunk.size()));
    const std::streamsize got = in.gcount();
    if (got <= 0) break;
    hasher.update(std::span<const uint8_t>(chunk.data(), size_t(got)));
    total += uint64_t(got);
    if (on_chunk) on_chunk(total);
  }
  if (in.bad()) return Status(Code::kIoError, "read error while hashing " + path.string());
  return total;
}

Result<std::string> sha256File(const std::filesystem::path& path) {
  Sha256 hasher;
  TF_ASSIGN_OR_RETURN(uint64_t bytes, hashFileInto(path, hasher, nullptr));
  (void)bytes;
  return Sha256::toHex(hasher.finish());
}

}  // namespace tokenfab::download
