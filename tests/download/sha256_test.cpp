// SHA-256 against the FIPS 180-4 / NIST CSRC example vectors, and the shared manifest's sha256.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "download/file_hash.h"
#include "shared_data.h"
#include "tokenfab/download.h"

namespace tokenfab::download {
namespace {

std::string hexOf(std::string_view text) {
  Sha256 hasher;
  hasher.update(text);
  return Sha256::toHex(hasher.finish());
}

TEST(Sha256, FipsOneBlockMessage) {
  EXPECT_EQ(hexOf("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, EmptyMessage) {
  EXPECT_EQ(hexOf(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, FipsTwoBlockMessage) {
  // 448 bits: the padding does not fit in the first block.
  EXPECT_EQ(hexOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, Fips896BitMessage) {
  EXPECT_EQ(hexOf("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, FipsMillionA) {
  Sha256 hasher;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) hasher.update(chunk);
  EXPECT_EQ(Sha256::toHex(hasher.finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, SplitUpdatesEqualOneShot) {
  // Every split point of a 200-byte message (crosses block and padding boundaries).
  std::string message;
  for (int i = 0; i < 200; ++i) message.push_back(char((i * 131 + 7) & 0xff));
  const std::string whole = hexOf(message);
  for (size_t split = 0; split <= message.size(); ++split) {
    Sha256 hasher;
    hasher.update(std::string_view(message).substr(0, split));
    hasher.update(std::string_view(message).substr(split));
    ASSERT_EQ(Sha256::toHex(hasher.finish()), whole) << "split at " << split;
  }
}

TEST(Sha256, FinishResetsTheHasher) {
  Sha256 hasher;
  hasher.update("garbage");
  (void)hasher.finish();
  hasher.update("abc");
  EXPECT_EQ(Sha256::toHex(hasher.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, SharedModelMatchesManifest) {
  TF_SHARED_FILE(path, "models/stories260K.gguf");
  // The sha256 published in ../shared/models/MANIFEST.md for this file.
  auto digest = sha256File(path);
  ASSERT_TRUE(digest.isOk()) << digest.status().toString();
  EXPECT_EQ(*digest, "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
}

TEST(Sha256, MissingFileIsAnError) {
  auto digest = sha256File("/nonexistent/tokenfab/file.bin");
  ASSERT_FALSE(digest.isOk());
  EXPECT_EQ(digest.status().code(), Code::kIoError);
}

class FileHash : public ::testing::Test {
 protected:
  void write(const std::string& bytes) { std::ofstream(m_path, std::ios::binary) << bytes; }
  test::TestDir m_dir{"tokenfab_hash"};
  std::filesystem::path m_path = m_dir / "file";
};

// Chunked hashing of a file gives FIPS 180-4's digest of a million 'a'.
TEST_F(FileHash, MillionAFromAFile) {
  write(std::string(1000000, 'a'));
  Sha256 hasher;
  auto bytes = hashFileInto(m_path, hasher, nullptr);
  ASSERT_TRUE(bytes.isOk()) << bytes.status().toString();
  EXPECT_EQ(*bytes, 1000000u);
  EXPECT_EQ(Sha256::toHex(hasher.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Five whole chunks and a short one: six callbacks at the chunk boundaries, the one-shot digest.
TEST_F(FileHash, ReportsEveryChunk) {
  std::string bytes(5 * kHashChunkBytes + 123, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char((i * 2654435761u) >> 13);
  write(bytes);
  std::vector<uint64_t> seen;
  Sha256 hasher;
  auto total = hashFileInto(m_path, hasher, nullptr, [&](uint64_t done) { seen.push_back(done); });
  ASSERT_TRUE(total.isOk());
  EXPECT_EQ(*total, bytes.size());
  EXPECT_EQ(seen, (std::vector<uint64_t>{kHashChunkBytes, 2 * kHashChunkBytes, 3 * kHashChunkBytes, 4 * kHashChunkBytes,
                                         5 * kHashChunkBytes, bytes.size()}));
  EXPECT_EQ(Sha256::toHex(hasher.finish()), hexOf(bytes));
}

// A cancel set during chunk 2 is honoured before chunk 3: no chunk is read after it.
TEST_F(FileHash, CancelStopsBetweenChunks) {
  write(std::string(5 * kHashChunkBytes, 'x'));
  std::atomic<bool> cancel{false};
  int chunks = 0;
  int chunks_after_cancel = 0;
  Sha256 hasher;
  auto total = hashFileInto(m_path, hasher, &cancel, [&](uint64_t) {
    if (cancel) ++chunks_after_cancel;
    if (++chunks == 2) cancel = true;
  });
  ASSERT_FALSE(total.isOk());
  EXPECT_EQ(total.status().code(), Code::kCancelled);
  EXPECT_EQ(chunks, 2);
  EXPECT_EQ(chunks_after_cancel, 0);
}

}  // namespace
}  // namespace tokenfab::download
