// ropeLayoutName (tokenfab/rope.h).
#include "tokenfab/rope.h"

namespace tokenfab {

std::string_view ropeLayoutName(RopeLayout layout) {
  switch (layout) {
    case RopeLayout::kAdjacent:
      return "adjacent";
    case RopeLayout::kNeox:
      return "neox";
  }
  return "?";
}

}  // namespace tokenfab
