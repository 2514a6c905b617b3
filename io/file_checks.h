// The check every reader makes before opening a path it expects to be a file: a directory (a common slip,
// `--resume runs/a` for `runs/a/latest.safetensors`) is named as a directory, never read as zero or
// 2^63 bytes.
#pragma once
#include <string>

namespace fcn {

// "" when `path` is a regular file (or a link to one); otherwise what it is: "is a directory",
// "does not exist", "is not a regular file".
std::string regular_file_problem(const std::string& path);

}  // namespace fcn
