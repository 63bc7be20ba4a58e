// MappedFile, writeFileAtomic and GgufFile::open / GgufWriter::writeFile through the file system.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "gguf_test_util.h"
#include "tokenfab/file_util.h"
#include "tokenfab/gguf.h"

namespace tokenfab {
namespace {

namespace fs = std::filesystem;

class GgufFileUtil : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() /
            ("tokenfab-gguf-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  size_t filesIn(const fs::path& dir) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
  }
  fs::path m_dir;
};

TEST_F(GgufFileUtil, AtomicWriteCreatesAndReplaces) {
  const fs::path p = m_dir / "a.txt";
  ASSERT_TRUE(writeFileAtomic(p, std::string_view("first")).isOk());
  ASSERT_TRUE(writeFileAtomic(p, std::string_view("second!")).isOk());
  std::ifstream in(p);
  std::string s((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(s, "second!");
  EXPECT_EQ(filesIn(m_dir), 1u);  // no temporary left behind
}

TEST_F(GgufFileUtil, AtomicWriteIntoMissingFolderFails) {
  const Status s = writeFileAtomic(m_dir / "no" / "such" / "x", std::string_view("x"));
  EXPECT_EQ(s.code(), Code::kIoError) << s.toString();
  EXPECT_EQ(filesIn(m_dir), 0u);
}

TEST_F(GgufFileUtil, MapMissingEmptyAndDirectory) {
  EXPECT_EQ(MappedFile::open(m_dir / "missing").status().code(), Code::kNotFound);
  EXPECT_EQ(MappedFile::open(m_dir).status().code(), Code::kIoError);
  ASSERT_TRUE(writeFileAtomic(m_dir / "empty", std::string_view()).isOk());
  auto m = MappedFile::open(m_dir / "empty");
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(m->size(), 0u);
  auto g = gguf::GgufFile::open(m_dir / "empty");
  ASSERT_FALSE(g.isOk());
  EXPECT_EQ(g.status().code(), Code::kGgufTruncated);
  EXPECT_NE(g.status().message().find("empty"), std::string::npos);  // names the file
}

TEST_F(GgufFileUtil, WriterFileOpensMapped) {
  gguf::GgufWriter w(2);
  w.setAlignment(64);
  w.set("general.architecture", gguf::Value::string("llama"));
  const auto data = gguf::test::fillerBytes(4 * 10, 99);
  ASSERT_TRUE(w.addTensor("x", gguf::TensorType::kF32, {10}, data).isOk());
  const fs::path p = m_dir / "m.gguf";
  ASSERT_TRUE(w.writeFile(p).isOk());
  auto f = gguf::GgufFile::open(p);
  ASSERT_TRUE(f.isOk()) << f.status().toString();
  EXPECT_EQ(f->path(), p);
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->fileSize(), fs::file_size(p));
  auto span = f->tensorData(*f->tensor("x"));
  EXPECT_EQ(std::vector<uint8_t>(span.begin(), span.end()), data);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(span.data()) % 64, 0u);  // mapped, page-aligned base
  gguf::GgufFile moved = std::move(f).value();                     // spans stay valid after a move
  EXPECT_EQ(moved.tensorData(*moved.tensor("x")).data(), span.data());
}

}  // namespace
}  // namespace tokenfab
