// K-quant reference quantizers (Q2_K..Q6_K), split from quantize.cpp. Each encodes one
// super-block of 256 floats into ggml's block layout with ggml's reference algorithm.
#pragma once

#include <cstdint>

namespace tokenfab::ref::kquant {

void blockQ2_K(const float* x, uint8_t* b);  // 84 bytes
void blockQ3_K(const float* x, uint8_t* b);  // 110 bytes
void blockQ4_K(const float* x, uint8_t* b);  // 144 bytes
void blockQ5_K(const float* x, uint8_t* b);  // 176 bytes
void blockQ6_K(const float* x, uint8_t* b);  // 210 bytes

}  // namespace tokenfab::ref::kquant
