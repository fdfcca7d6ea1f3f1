#pragma once
// `chat report`: validates bench result documents, then hands them to the matplotlib renderer
// (reports/render.py, run with Debian's /usr/bin/python3) for the Markdown and PNG plots.
#include <filesystem>
#include <string>
#include <vector>

#include "src/util/result.h"

namespace chat::bench {

// Where render.py is: $CHAT_RENDERER, else the source tree this binary was built from, else
// ../reports/ next to the binary. Empty when none exists.
std::filesystem::path find_renderer();

// Writes <out_dir>/report.md and its PNGs; returns the Markdown's path.
Result<std::filesystem::path> render_report(const std::vector<std::filesystem::path>& inputs,
                                            const std::filesystem::path& out_dir);

}  // namespace chat::bench
