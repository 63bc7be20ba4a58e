#include "tokenfab/shaders.h"

#include <gtest/gtest.h>

namespace {

// The build compiled, validated and embedded fill_f32.comp: its words start with the SPIR-V magic.
TEST(ShaderRegistry, EmbedsValidSpirv) {
  auto words = tokenfab::shaders::find("fill_f32");
  ASSERT_GE(words.size(), 5u);
  EXPECT_EQ(words[0], 0x07230203u);
  EXPECT_TRUE(tokenfab::shaders::find("no_such_shader").empty());
}

}  // namespace
