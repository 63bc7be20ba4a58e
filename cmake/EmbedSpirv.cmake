# cmake -DIN=x.spv -DOUT=x.spv.cpp -DNAME=x -P EmbedSpirv.cmake
# Writes the SPIR-V words as a uint32_t array (SPIR-V is a little-endian word stream).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR rem "${n} % 8")
if(NOT rem EQUAL 0 OR n EQUAL 0)
  message(FATAL_ERROR "${IN}: size is not a whole number of 32-bit words")
endif()
math(EXPR words "${n} / 8")
string(REGEX REPLACE "([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])"
       "0x\\4\\3\\2\\1u," body "${hex}")
string(REGEX REPLACE "(0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,)"
       "\\1\n  " body "${body}")
string(MAKE_C_IDENTIFIER "${NAME}" id)
file(WRITE "${OUT}" "// Generated from ${NAME}.spv: do not edit.\n#include <cstddef>\n#include <cstdint>\n"
     "namespace tokenfab::shaders {\nextern const uint32_t kSpv_${id}[];\nextern const size_t kSpv_${id}_words;\n"
     "alignas(4) const uint32_t kSpv_${id}[] = {\n  ${body}\n};\n"
     "const size_t kSpv_${id}_words = ${words};\n}  // namespace tokenfab::shaders\n")
