// Small helpers for showing tokens: visible whitespace and a probability colour scale.
#pragma once

#include <QColor>
#include <QString>

#include <string>

namespace tokenfab::gui {

// "␣" for spaces, "↵" for newlines, "→" for tabs, other control characters as <0xNN>.
QString visibleToken(const std::string& bytes);
// Red (unlikely) -> yellow -> green (certain), light enough to read black text on.
QColor probabilityColor(double p);
QString formatProb(double p);

}  // namespace tokenfab::gui
