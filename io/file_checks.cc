// regular_file_problem (io/file_checks.h).
#include "io/file_checks.h"

#include <filesystem>

namespace fcn {

std::string regular_file_problem(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) return "does not exist";
  if (error) return "cannot be read (" + error.message() + ")";
  if (status.type() == std::filesystem::file_type::directory) return "is a directory";
  if (status.type() != std::filesystem::file_type::regular) return "is not a regular file";
  return "";
}

}  // namespace fcn
