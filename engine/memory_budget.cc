// Memory estimates and what the host or device has left (engine/memory_budget.h).
#include "engine/memory_budget.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "engine/backend.h"

namespace fcn {
namespace {

// The first number on the line of /proc/meminfo that starts with `key` (in kB there), in bytes.
int64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, key.size(), key) != 0) continue;
    return std::stoll(line.substr(key.size())) * 1024;
  }
  return -1;
}

// A cgroup file holding one number ("max" or a missing file: -1).
int64_t cgroup_number(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return -1;
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return -1;
  }
}

// What this process's cgroup still allows, -1 without a limit.
int64_t cgroup_room() {
  int64_t limit = cgroup_number("/sys/fs/cgroup/memory.max");
  int64_t usage = cgroup_number("/sys/fs/cgroup/memory.current");
  if (limit < 0) {  // cgroup v1; an unlimited v1 cgroup reports a limit near 2^63
    limit = cgroup_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    usage = cgroup_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    if (limit >= (int64_t(1) << 60)) limit = -1;
  }
  if (limit < 0 || usage < 0) return -1;
  return std::max<int64_t>(limit - usage, 0);
}

}  // namespace

int64_t host_memory_available() {
  const int64_t available = meminfo_bytes("MemAvailable:");
  const int64_t room = cgroup_room();
  if (available < 0) return room;
  if (room < 0) return available;
  return std::min(available, room);
}

std::string format_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 6) {
    bytes /= 1024.0;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%.0f B", bytes);
  } else {
    std::snprintf(text, sizeof text, bytes < 10 ? "%.2f %s" : bytes < 100 ? "%.1f %s" : "%.0f %s", bytes, units[unit]);
  }
  return text;
}

ModelMemory model_memory(const ModelConfig& config, int max_batch, int height, int width) {
  if (width < 0) width = height;
  ModelMemory m;
  const double floats_per_pixel = double(config.in_channels) + 3.0 * config.classes +
                                  double(config.channels) * (config.layers + 2);  // as Model's arena
  m.per_image = 4.0 * floats_per_pixel * double(height) * double(width);
  m.activations = m.per_image * double(max_batch);
  m.parameters = 4.0 * 4.0 * double(parameter_count(config));
  return m;
}

void check_model_fits(Backend& backend, const ModelConfig& config, int max_batch, int height, int width,
                      const std::string& flags) {
  const int64_t available = backend.memory_available();
  if (available < 0) return;
  const ModelMemory need = model_memory(config, max_batch, height, width);
  if (need.total() <= double(available)) return;
  const char* where = backend.is_gpu() ? "the GPU" : "the CPU";
  std::string message = "the model needs about " + format_bytes(need.total()) + " for " + flags + " (" +
                        format_bytes(need.activations) + " of activations and gradients, " +
                        format_bytes(need.parameters) + " of parameters and Adam moments), but " + where +
                        " has " + format_bytes(double(available)) + " available\nHINT: ";
  const double fitting = std::floor((double(available) - need.parameters) / need.per_image);
  if (fitting >= 1) {
    message += "at this size at most " + std::to_string(int64_t(std::min(fitting, double(max_batch)))) +
               " images fit in one batch: lower --batch, or lower --size";
  } else {
    message += "one image at this size alone needs " + format_bytes(need.per_image) + ": lower --size";
  }
  throw std::runtime_error(message);
}

}  // namespace fcn
