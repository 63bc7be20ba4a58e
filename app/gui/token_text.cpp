#include "token_text.h"

#include <algorithm>

namespace tokenfab::gui {

QString visibleToken(const std::string& bytes) {
  const QString text = QString::fromUtf8(bytes.data(), qsizetype(bytes.size()));
  QString out;
  for (const QChar c : text) {
    if (c == QLatin1Char(' ')) {
      out += QChar(0x2423);
    } else if (c == QLatin1Char('\n')) {
      out += QChar(0x21B5);
    } else if (c == QLatin1Char('\t')) {
      out += QChar(0x2192);
    } else if (c.unicode() < 0x20 || c.unicode() == 0x7f) {
      out += QStringLiteral("<0x%1>").arg(c.unicode(), 2, 16, QLatin1Char('0')).toUpper();
    } else {
      out += c;
    }
  }
  return out;
}

QColor probabilityColor(double p) {
  p = std::clamp(p, 0.0, 1.0);
  // Hue 0 (red) .. 120 (green), pastel so the text stays readable.
  return QColor::fromHsvF(float(p * 120.0 / 360.0), 0.45f, 1.0f);
}

QString formatProb(double p) {
  if (p > 0.0 && p < 0.001) return QString::number(p, 'e', 1);
  return QString::number(p, 'f', 3);
}

}  // namespace tokenfab::gui
