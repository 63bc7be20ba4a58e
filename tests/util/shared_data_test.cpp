#include "shared_data.h"

#include <gtest/gtest.h>

namespace {

// The shared folder is found (or the test is skipped / failed as the environment asks) and the
// manifest is where the tests expect it.
TEST(SharedData, ManifestIsReachable) {
  TF_SHARED_FILE(manifest, "models/MANIFEST.md");
  EXPECT_NE(tokenfab::test::readFile(manifest).find("stories260K"), std::string::npos);
}

}  // namespace
