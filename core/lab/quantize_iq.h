// Quantizers for the non-linear 4-bit i-quants (IQ4_NL, IQ4_XS), split from quantize.cpp.
// Not ggml's quantize_iq4_nl / quantize_iq4_xs (those search many trial scales, optionally
// weighted by an importance matrix): a plain encoder (scale from the element of largest
// magnitude, the nearest code, then the least-squares scale for the codes picked). Its blocks
// are valid ggml blocks that core/ref and the shaders decode; they are not byte-identical to
// llama-quantize's.
#pragma once

#include <cstdint>

namespace tokenfab::ref::iquant {

void blockIq4Nl(const float* x, uint8_t* b);  // 32 floats -> 18 bytes
void blockIq4Xs(const float* x, uint8_t* b);  // 256 floats -> 136 bytes

}  // namespace tokenfab::ref::iquant
