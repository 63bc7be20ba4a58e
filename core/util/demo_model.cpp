// findDemoModel (tokenfab/file_util.h): where the built-in demo model is, for every front end.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "tokenfab/file_util.h"

namespace tokenfab {

std::optional<std::filesystem::path> findDemoModel(const std::filesystem::path& exe_dir,
                                                   const std::filesystem::path& source_models_dir) {
  if (const char* env = std::getenv("TOKENFAB_DEMO_MODEL"); env && *env) return std::filesystem::path(env);
  std::vector<std::filesystem::path> dirs;
  if (!exe_dir.empty()) {
    dirs.push_back(exe_dir / "../share/tokenfab/models");  // installed
    for (std::filesystem::path p = exe_dir; !p.empty() && p != p.root_path(); p = p.parent_path())
      dirs.push_back(p / "resources/models");  // a build tree inside the source tree
  }
  if (!source_models_dir.empty()) dirs.push_back(source_models_dir);
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
      if (entry.path().extension() == ".gguf") found.push_back(entry.path());
    if (!found.empty()) return std::filesystem::weakly_canonical(*std::min_element(found.begin(), found.end()), ec);
  }
  return std::nullopt;
}

}  // namespace tokenfab
