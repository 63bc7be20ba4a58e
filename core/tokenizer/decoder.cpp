// Token -> bytes, display pieces, and the streaming decoder that keeps output valid UTF-8.
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode_util.h"

namespace tokenfab {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xAB>" -> 0xAB, or -1.
int parseByteToken(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  const int hi = hexValue(text[3]), lo = hexValue(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

void appendUnescapedSpaces(std::string& out, std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "\xE2\x96\x81") == 0) {
      out.push_back(' ');
      i += 3;
    } else {
      out.push_back(text[i++]);
    }
  }
}

// Raw bytes of a token; control/unknown rendering as asked.
std::string tokenBytesImpl(const Tokenizer::Impl& v, int32_t id, bool render_special) {
  std::string out;
  if (id < 0 || static_cast<size_t>(id) >= v.tokens.size()) return out;
  const std::string& text = v.tokens[id];
  switch (v.types[id]) {
    case TokenType::kControl:
      if (render_special) out = text;
      return out;
    case TokenType::kUnknown:
      if (render_special)
        out = text;
      else
        out = "\xE2\x96\x85";  // U+2585, llama.cpp's stand-in for an unknown token
      return out;
    case TokenType::kUserDefined:
      return text;
    case TokenType::kByte:
      if (v.kind == VocabKind::kSpm) {
        const int b = parseByteToken(text);
        if (b >= 0)
          out.push_back(static_cast<char>(b));
        else
          out = text;
        return out;
      }
      break;
    default:
      break;
  }
  if (v.kind == VocabKind::kBpe) {
    for (size_t pos = 0; pos < text.size();) {
      const size_t before = pos;
      const uint32_t cp = tok::decodeUtf8(text, pos);
      const int b = tok::codepointToByte(cp);
      if (b >= 0)
        out.push_back(static_cast<char>(b));
      else
        out.append(text, before, pos - before);  // not a mapped byte: keep the character
    }
    return out;
  }
  appendUnescapedSpaces(out, text);
  return out;
}

bool stripsLeadingSpace(const Tokenizer::Impl& v) {
  return (v.kind == VocabKind::kSpm && v.add_space_prefix) || v.kind == VocabKind::kWpm;
}

}  // namespace

std::string Tokenizer::tokenBytes(int32_t id) const { return tokenBytesImpl(*m_impl, id, true); }

std::string Tokenizer::piece(int32_t id) const {
  const Impl& v = *m_impl;
  if (id < 0 || id >= vocabSize()) return {};
  const TokenType type = v.types[id];
  std::string bytes;
  if (type == TokenType::kControl || type == TokenType::kUnknown || type == TokenType::kByte) {
    bytes = v.tokens[id];  // visible: "<s>", "<0x0A>"
  } else {
    bytes = tokenBytesImpl(v, id, true);
  }
  std::string out;
  tok::sanitizeUtf8(bytes, true, out);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  StreamDecoder decoder(*this, render_special);
  std::string out;
  for (int32_t id : ids) out += decoder.push(id);
  out += decoder.flush();
  return out;
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool render_special)
    : m_tokenizer(&tokenizer), m_render_special(render_special) {}

void StreamDecoder::reset() {
  m_at_start = true;
  m_pending.clear();
}

std::string StreamDecoder::push(int32_t id) {
  const Tokenizer::Impl& v = *m_tokenizer->m_impl;
  std::string bytes = tokenBytesImpl(v, id, m_render_special);
  if (id >= 0 && id == v.bos) {
    m_at_start = true;  // the next text token loses its leading space, as at the very start
  } else {
    if (m_at_start && stripsLeadingSpace(v) && !bytes.empty() && bytes[0] == ' ') bytes.erase(0, 1);
    m_at_start = false;
  }
  m_pending += bytes;
  std::string out;
  const size_t used = tok::sanitizeUtf8(m_pending, false, out);
  m_pending.erase(0, used);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  tok::sanitizeUtf8(m_pending, true, out);
  reset();
  return out;
}

}  // namespace tokenfab
