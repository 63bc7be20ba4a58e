#include "tokenizer/unicode_util.h"

#include <utf8proc.h>

#include <array>

namespace tokenfab::tok {

namespace {

uint8_t computeFlags(uint32_t cp) {
  if (cp > 0x10FFFF) return 0;
  uint8_t flags = 0;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      flags |= kFlagLetter;
      break;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      flags |= kFlagNumber;
      break;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      flags |= kFlagPunct;
      break;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
      flags |= kFlagSymbol;
      break;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      flags |= kFlagMark;
      break;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      flags |= kFlagWhitespace;
      break;
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
      flags |= kFlagControl;
      break;
    default:
      break;
  }
  // White_Space also holds these controls (tab, line feed, vertical tab, form feed, CR, NEL).
  if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85) flags = static_cast<uint8_t>(flags | kFlagWhitespace);
  return flags;
}

struct ByteMaps {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 512> from_cp{};  // all mapped code points are < 512
  ByteMaps() {
    from_cp.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? static_cast<uint32_t>(b) : next++;
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteMaps& byteMaps() {
  static const ByteMaps maps;
  return maps;
}

}  // namespace

uint8_t charFlags(uint32_t cp) {
  static const std::array<uint8_t, 256> kLatin = [] {
    std::array<uint8_t, 256> t{};
    for (uint32_t c = 0; c < 256; ++c) t[c] = computeFlags(c);
    return t;
  }();
  return cp < 256 ? kLatin[cp] : computeFlags(cp);
}

size_t utf8SequenceLength(uint8_t lead) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[lead >> 4];
}

int validUtf8Prefix(std::string_view bytes) {
  if (bytes.empty()) return 0;
  const auto b0 = static_cast<uint8_t>(bytes[0]);
  if (b0 < 0x80) return 1;
  int need = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int i = 1; i <= need; ++i) {
    if (static_cast<size_t>(i) >= bytes.size()) return 0;  // incomplete so far
    const auto b = static_cast<uint8_t>(bytes[i]);
    const uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) return -1;
  }
  return need + 1;
}

uint32_t decodeUtf8(std::string_view text, size_t& pos) {
  const int n = validUtf8Prefix(text.substr(pos));
  if (n <= 0) {
    ++pos;
    return kReplacementChar;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(text.data() + pos);
  uint32_t cp = 0;
  switch (n) {
    case 1:
      cp = p[0];
      break;
    case 2:
      cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
      break;
    case 3:
      cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
      break;
    default:
      cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
      break;
  }
  pos += static_cast<size_t>(n);
  return cp;
}

std::vector<uint32_t> toCodepoints(std::string_view text) {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) cps.push_back(decodeUtf8(text, pos));
  return cps;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    appendUtf8(out, kReplacementChar);
  }
}

size_t sanitizeUtf8(std::string_view bytes, bool final, std::string& out) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    const int n = validUtf8Prefix(bytes.substr(pos));
    if (n > 0) {
      out.append(bytes.substr(pos, static_cast<size_t>(n)));
      pos += static_cast<size_t>(n);
    } else if (n == 0 && !final) {
      break;  // an incomplete character: wait for more bytes
    } else {
      appendUtf8(out, kReplacementChar);
      ++pos;
    }
  }
  return pos;
}

uint32_t byteToCodepoint(uint8_t byte) { return byteMaps().to_cp[byte]; }

int codepointToByte(uint32_t cp) { return cp < 512 ? byteMaps().from_cp[cp] : -1; }

uint32_t toLower(uint32_t cp) {
  if (cp > 0x10FFFF) return cp;
  return static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

std::vector<uint32_t> nfd(const std::vector<uint32_t>& cps) {
  std::vector<uint32_t> out;
  out.reserve(cps.size());
  utf8proc_int32_t buf[32];
  for (uint32_t cp : cps) {
    int last_boundclass = 0;
    const utf8proc_ssize_t n = cp <= 0x10FFFF
                                   ? utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 32,
                                                             UTF8PROC_DECOMPOSE, &last_boundclass)
                                   : -1;
    if (n < 0 || n > 32) {
      out.push_back(cp);
      continue;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) out.push_back(static_cast<uint32_t>(buf[i]));
  }
  // Canonical ordering: stable sort of each run of combining marks by combining class.
  for (size_t i = 1; i < out.size(); ++i) {
    for (size_t j = i; j > 0; --j) {
      const auto* a = utf8proc_get_property(static_cast<utf8proc_int32_t>(out[j - 1]));
      const auto* b = utf8proc_get_property(static_cast<utf8proc_int32_t>(out[j]));
      if (b->combining_class != 0 && a->combining_class > b->combining_class) {
        std::swap(out[j - 1], out[j]);
      } else {
        break;
      }
    }
  }
  return out;
}

}  // namespace tokenfab::tok
