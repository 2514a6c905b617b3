// Parsing, formatting and choosing kernel plans (see kernel_plan.h).
#include "engine/kernel_plan.h"

#include <charconv>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace fcn {
namespace {

// The text as a message may quote it: printable ASCII as is, any other byte as \xNN (a NUL would end
// what() there, a newline would split the message; a plan can come from a damaged checkpoint), and at most
// kQuoted characters of it.
std::string quoted(const std::string& text) {
  constexpr size_t kQuoted = 120;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kQuoted; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += char(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  return text.size() > kQuoted ? out + "..." : out;
}

[[noreturn]] void bad_plan(const std::string& text, const std::string& why) {
  throw std::invalid_argument("--conv-kernels '" + quoted(text) + "': " + why +
                              "\nHINT: use auto, v1, v2, v3, v4, or a plan as `fcn train` prints it, e.g. "
                              "\"3x3:3>64=3,3,4;3x3:64>64=3,3,3;1x1:64>1=3,3,3\"");
}

bool valid_version(int v) { return v >= kFirstConvVersion && v <= kLastConvVersion; }

// Reads a decimal int at `cursor` and the character after it (`then`, or the end for '\0'); false when
// the digits are missing, do not fit an int, or the next character differs.
bool read_int_then(const char*& cursor, const char* end, int& value, char then) {
  const auto [after, error] = std::from_chars(cursor, end, value);
  if (error != std::errc()) return false;  // no digits, or out of int's range (never wrapped)
  cursor = after;
  if (then == '\0') return cursor == end;
  if (cursor == end || *cursor != then) return false;
  ++cursor;
  return true;
}

// One "3x3:3>64=3,3,4" entry, read field by field with checked conversions.
std::pair<ConvKernelKey, ConvVersions> parse_entry(const std::string& entry, const std::string& text) {
  ConvKernelKey key;
  int kernel_w = 0;
  ConvVersions v{};
  const char* cursor = entry.data();
  const char* end = entry.data() + entry.size();
  const bool read = read_int_then(cursor, end, key.kernel, 'x') && read_int_then(cursor, end, kernel_w, ':') &&
                    read_int_then(cursor, end, key.in_channels, '>') &&
                    read_int_then(cursor, end, key.out_channels, '=') && read_int_then(cursor, end, v[0], ',') &&
                    read_int_then(cursor, end, v[1], ',') && read_int_then(cursor, end, v[2], '\0');
  const std::string name = "'" + quoted(entry) + "'";
  if (!read) bad_plan(text, "cannot read the entry " + name + " (numbers must fit an int)");
  if (key.kernel != kernel_w || key.kernel < 1 || key.kernel % 2 == 0) {
    bad_plan(text, name + " has a kernel that is not square and odd");
  }
  if (key.in_channels < 1 || key.out_channels < 1) bad_plan(text, name + " has a channel count below 1");
  for (int version : v) {
    if (!valid_version(version)) bad_plan(text, name + " names version " + std::to_string(version));
  }
  return {key, v};
}

}  // namespace

const char* conv_direction_name(int direction) {
  switch (direction) {
    case 0: return "forward";
    case 1: return "backward data";
    case 2: return "backward filter";
  }
  return "unknown direction";
}

ConvKernelKey conv_kernel_key(const ConvShape& s) { return {s.kernel, s.in_channels, s.out_channels}; }

KernelPlanRequest parse_kernel_plan(const std::string& text) {
  KernelPlanRequest request;
  if (text == "auto") return request;
  if (text.size() == 2 && text[0] == 'v' && valid_version(text[1] - '0')) {
    request.mode = KernelPlanRequest::Mode::kUniform;
    request.uniform_version = text[1] - '0';
    return request;
  }
  if (text.empty()) bad_plan(text, "the plan is empty");
  if (text.back() == ';') bad_plan(text, "the plan ends with ';' (an empty entry)");
  request.mode = KernelPlanRequest::Mode::kExplicit;
  std::stringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ';')) {
    auto [key, versions] = parse_entry(entry, text);
    if (!request.plan.emplace(key, versions).second) {
      bad_plan(text, "the layer of '" + quoted(entry) + "' appears twice");
    }
  }
  return request;
}

std::string format_kernel_plan(const ConvPlan& plan) {
  std::string text;
  for (const auto& [key, v] : plan) {
    if (!text.empty()) text += ';';
    text += std::to_string(key.kernel) + "x" + std::to_string(key.kernel) + ":" + std::to_string(key.in_channels) +
            ">" + std::to_string(key.out_channels) + "=" + std::to_string(v[0]) + "," + std::to_string(v[1]) + "," +
            std::to_string(v[2]);
  }
  return text;
}

std::string describe_kernel_plan(const ConvPlan& plan) {
  std::string text;
  for (const auto& [key, v] : plan) {
    if (!text.empty()) text += "; ";
    text += "conv " + std::to_string(key.kernel) + "x" + std::to_string(key.kernel) + " " +
            std::to_string(key.in_channels) + "->" + std::to_string(key.out_channels) + ":";
    for (int d = 0; d < kConvDirections; ++d) {
      text += std::string(d == 0 ? " " : ", ") + conv_direction_name(d) + " v" + std::to_string(v[d]);
    }
  }
  return text;
}

int pick_fastest_version(const std::vector<VersionTrial>& trials, double tie_fraction) {
  double fastest = 0;
  for (const VersionTrial& t : trials) {
    if (t.valid && t.ms > 0 && (fastest == 0 || t.ms < fastest)) fastest = t.ms;
  }
  int chosen = 0;
  if (fastest > 0) {
    for (const VersionTrial& t : trials) {
      if (t.valid && t.ms > 0 && t.ms <= fastest * (1 + tie_fraction) && t.version > chosen) chosen = t.version;
    }
    return chosen;
  }
  for (const VersionTrial& t : trials) {
    if (t.valid && (chosen == 0 || t.version < chosen)) chosen = t.version;
  }
  return chosen;
}

}  // namespace fcn
