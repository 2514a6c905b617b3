// CLI11 checks worded as the project's own errors ("--size: must be at least 1, got 0"); CLI11's own
// PositiveNumber prints a 300-digit upper bound.
#include <charconv>
#include <string>

#include "engine/cli/commands.h"

namespace fcn::cli {

CLI::Validator at_least(int64_t lo) {
  return CLI::Validator(
      [lo](std::string& text) -> std::string {
        int64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error == std::errc::result_out_of_range) return "is too large: " + text;
        if (error != std::errc() || end != text.data() + text.size()) return "must be an integer, got " + text;
        if (value < lo) return "must be at least " + std::to_string(lo) + ", got " + text;
        return "";
      },
      "INT >= " + std::to_string(lo));
}

}  // namespace fcn::cli
