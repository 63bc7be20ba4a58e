// The ranking shared by argmax.comp and top_k.comp (and ref::argmax / ref::topK): a before b
// when a is larger, equal values by lower index, NaN after every number.
bool rankBefore(float va, uint ia, float vb, uint ib) {
  const bool na = (floatBitsToUint(va) & 0x7FFFFFFFu) > 0x7F800000u;
  const bool nb = (floatBitsToUint(vb) & 0x7FFFFFFFu) > 0x7F800000u;
  if (na != nb) return nb;
  if (!na && va != vb) return va > vb;
  return ia < ib;
}
