// fcn inspect: lists every record of an export (export.json or .tfrecord files) with its place in the
// files, its features and per-class pixel counts, then a summary; --json for machines; --dump writes
// each record's image and first-class target as PNGs, optionally through the training resize.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/cli/commands.h"
#include "io/example.h"
#include "io/image_codec.h"
#include "io/manifest.h"
#include "io/tfrecord.h"
#include "kernels/cpu/reference.h"

namespace fcn::cli {
namespace {

struct InspectOptions {
  std::vector<std::string> paths;
  bool json = false;
  std::string dump_dir;
  int size = 0;  // 0: dump at the original size
  std::string mapping = "legacy";
  bool skip_corrupted = false;
  std::string compression = "auto";
  int64_t max_pixels = DecodeLimits{}.max_pixels;
  int64_t limit = 0;  // 0: every record; else only the first `limit` records in export order
};

struct Totals {
  int64_t records = 0;
  int64_t skipped = 0;
  int files = 0;
  int min_width = 0, max_width = 0, min_height = 0, max_height = 0;
  std::map<std::string, int64_t> formats;
  std::vector<int64_t> class_pixels;  // [legend size]
  int64_t other_pixels = 0;           // pixels whose value is no legend class (background)
  int64_t all_pixels = 0;
};

Manifest manifest_for(const std::vector<std::string>& paths) {
  if (paths.size() == 1 && std::filesystem::is_directory(paths[0])) {
    const std::string inside = (std::filesystem::path(paths[0]) / "export.json").string();
    throw DataError(DataError::Kind::kIo, paths[0], -1, -1,
                    paths[0] + " is a directory\nHINT: " +
                        (std::filesystem::exists(inside) ? "pass " + inside + ", the export's manifest inside it"
                                                         : "pass its export.json or its .tfrecord files"));
  }
  bool any_json = false;
  for (const auto& p : paths) any_json |= std::filesystem::path(p).extension() == ".json";
  if (!any_json) return manifest_from_tfrecords(paths);
  if (paths.size() != 1) {
    throw DataError(DataError::Kind::kInvalid, paths[0], -1, -1,
                    "fcn inspect takes one export.json or any number of .tfrecord files, not both\n"
                    "HINT: run `fcn inspect export.json` or `fcn inspect a.tfrecord b.tfrecord`.");
  }
  return load_manifest(paths[0]);
}

uint8_t to_byte(float v) {  // round to nearest, clamped to 0..255
  return static_cast<uint8_t>(std::floor(std::clamp(v, 0.0f, 255.0f) + 0.5f));
}

// Writes DIR/<index>.image.png (RGB) and DIR/<index>.label.png (gray, 255 x target of the first class).
void dump_sample(const InspectOptions& opt, const Manifest& manifest, const Sample& s) {
  const std::string stem = (std::filesystem::path(opt.dump_dir) / std::to_string(s.record_index)).string();
  const int class_value = manifest.legend.front().value;
  if (opt.size <= 0) {
    std::vector<uint8_t> mask(s.label.size());  // [h, w]
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = s.label[i] == class_value ? 255 : 0;
    write_file(stem + ".image.png", encode_png(s.rgb.data(), s.height, s.width, 3));
    write_file(stem + ".label.png", encode_png(mask.data(), s.height, s.width, 1));
    return;
  }
  const int n = opt.size;
  const ResizeMapping mapping = opt.mapping == "half-pixel" ? ResizeMapping::kHalfPixel : ResizeMapping::kLegacy;
  std::vector<float> image(size_t(n) * n * 3);  // [n, n, 3]
  std::vector<float> target(size_t(n) * n);     // [n, n, 1]
  resize_image_ref(image.data(), s.rgb.data(), s.height, s.width, n, mapping);
  resize_targets_ref(target.data(), s.label.data(), s.height, s.width, n, &class_value, 1, mapping, false);
  std::vector<uint8_t> image_bytes(image.size()), target_bytes(target.size());
  for (size_t i = 0; i < image.size(); ++i) image_bytes[i] = to_byte(image[i]);
  for (size_t i = 0; i < target.size(); ++i) target_bytes[i] = to_byte(255.0f * target[i]);
  write_file(stem + ".image.png", encode_png(image_bytes.data(), n, n, 3));
  write_file(stem + ".label.png", encode_png(target_bytes.data(), n, n, 1));
}

void report_record(const InspectOptions& opt, const Manifest& manifest, const Sample& s, const std::string& file,
                   uint64_t offset, Totals& totals) {
  std::vector<int64_t> counts(manifest.legend.size(), 0);
  int64_t other = int64_t(s.label.size());
  for (size_t c = 0; c < manifest.legend.size(); ++c) {
    const uint8_t value = uint8_t(manifest.legend[c].value);
    counts[c] = std::count(s.label.begin(), s.label.end(), value);
    other -= counts[c];
  }

  if (totals.records == 0) {
    totals.min_width = totals.max_width = s.width;
    totals.min_height = totals.max_height = s.height;
  }
  totals.min_width = std::min(totals.min_width, s.width);
  totals.max_width = std::max(totals.max_width, s.width);
  totals.min_height = std::min(totals.min_height, s.height);
  totals.max_height = std::max(totals.max_height, s.height);
  totals.formats[s.format] += 1;
  for (size_t c = 0; c < counts.size(); ++c) totals.class_pixels[c] += counts[c];
  totals.other_pixels += other;
  totals.all_pixels += int64_t(s.label.size());
  totals.records += 1;

  if (opt.json) {
    nlohmann::ordered_json line;
    line["index"] = s.record_index;
    line["file"] = file;
    line["offset"] = offset;
    line["id"] = s.id;
    line["filename"] = s.filename;
    line["format"] = s.format;
    line["width"] = s.width;
    line["height"] = s.height;
    line["channels"] = s.channels;
    nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
    for (size_t c = 0; c < counts.size(); ++c) per_class[manifest.legend[c].name] = counts[c];
    line["class_pixels"] = per_class;
    line["other_pixels"] = other;
    std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("#%-5lld %s @%llu  id=%s  filename=%s  %s %dx%d ch=%d ", (long long)s.record_index,
                file.c_str(), (unsigned long long)offset, s.id.c_str(), s.filename.c_str(), s.format.c_str(),
                s.width, s.height, s.channels);
    for (size_t c = 0; c < counts.size(); ++c) {
      std::printf(" %s=%lld", manifest.legend[c].name.c_str(), (long long)counts[c]);
    }
    std::printf(" other=%lld\n", (long long)other);
  }
}

void print_summary(const InspectOptions& opt, const Manifest& manifest, const Totals& t) {
  std::FILE* out = opt.json ? stderr : stdout;  // --json keeps stdout to one record per line
  std::fprintf(out, "summary: %lld record%s in %d file%s", (long long)t.records, t.records == 1 ? "" : "s", t.files,
               t.files == 1 ? "" : "s");
  if (opt.skip_corrupted) std::fprintf(out, ", %lld bad record%s skipped", (long long)t.skipped, t.skipped == 1 ? "" : "s");
  std::fprintf(out, "\n");
  if (t.records == 0) return;
  std::fprintf(out, "  size: width %d..%d, height %d..%d\n", t.min_width, t.max_width, t.min_height, t.max_height);
  std::fprintf(out, "  formats:");
  for (const auto& [format, count] : t.formats) std::fprintf(out, " %s=%lld", format.c_str(), (long long)count);
  std::fprintf(out, "\n  class pixels:");
  const double all = double(std::max<int64_t>(t.all_pixels, 1));
  for (size_t c = 0; c < manifest.legend.size(); ++c) {
    std::fprintf(out, " %s (value %d)=%lld (%.2f%%)", manifest.legend[c].name.c_str(), manifest.legend[c].value,
                 (long long)t.class_pixels[c], 100.0 * double(t.class_pixels[c]) / all);
  }
  std::fprintf(out, " other=%lld (%.2f%%)\n", (long long)t.other_pixels, 100.0 * double(t.other_pixels) / all);
}

// A bad record: fatal unless --skip-corrupted, in which case it is counted and named on stderr.
void on_bad_record(const InspectOptions& opt, const DataError& e, Totals& totals) {
  if (!opt.skip_corrupted) throw e;
  totals.skipped += 1;
  std::fprintf(stderr, "fcn inspect: skipped: %s\n", e.what());
}

// Where the records of `path` sit. A damaged header stops the index; with --skip-corrupted the records
// before the damage are still found by reading the file sequentially up to it.
std::vector<RecordLocation> locate_records(const InspectOptions& opt, const std::string& path,
                                          TfRecordCompression compression, Totals& totals) {
  if (!opt.skip_corrupted) return index_tfrecord(path, compression);
  std::string damage;
  std::vector<RecordLocation> found = index_tfrecord_before_damage(path, compression, &damage);
  if (!damage.empty()) {
    totals.skipped += 1;
    std::fprintf(stderr, "fcn inspect: skipped: %s\n", damage.c_str());
  }
  return found;
}

void run_inspect(const InspectOptions& opt) {
  Manifest manifest = manifest_for(opt.paths);
  manifest.compression = compression_from_flag(opt.compression);
  if (!opt.dump_dir.empty()) std::filesystem::create_directories(opt.dump_dir);

  Totals totals;
  totals.class_pixels.assign(manifest.legend.size(), 0);
  int64_t record_index = 0;  // export order, across files
  std::string payload;
  for (const std::string& path : manifest.tfrecord_paths) {
    if (opt.limit > 0 && record_index >= opt.limit) break;
    totals.files += 1;
    std::vector<RecordLocation> locations = locate_records(opt, path, manifest.compression, totals);
    TfRecordReader reader(path, manifest.compression);
    for (const RecordLocation& loc : locations) {
      if (opt.limit > 0 && record_index >= opt.limit) break;
      const int64_t index = record_index++;
      try {
        reader.read_at(loc, index, payload);
        DecodeLimits limits;
        limits.max_pixels = opt.max_pixels;
        Sample sample = decode_example(payload, ExampleContext{path, index, int64_t(loc.offset)}, limits);
        report_record(opt, manifest, sample, path, loc.offset, totals);
        if (!opt.dump_dir.empty()) dump_sample(opt, manifest, sample);
      } catch (const DataError& e) {
        if (e.kind() == DataError::Kind::kIo) throw;
        on_bad_record(opt, e, totals);
      }
    }
  }
  print_summary(opt, manifest, totals);
  std::fflush(stdout);
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto opt = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "List the records of an export (export.json or .tfrecord files): place, features, class pixels");
  cmd->add_option("paths", opt->paths, "one export.json, or .tfrecord files")->required();
  cmd->add_flag("--json", opt->json, "one JSON object per record per line (the summary goes to stderr)");
  cmd->add_option("--dump", opt->dump_dir,
                  "write DIR/<index>.image.png and DIR/<index>.label.png (255 x target of the first class)");
  cmd->add_option("--size", opt->size, "with --dump: resize to SIZE x SIZE with the training resize")
      ->check(CLI::Range(1, 16384));
  cmd->add_option("--mapping", opt->mapping, "resize mapping for --size: legacy (TF1, default) or half-pixel (TF2)")
      ->check(CLI::IsMember({"legacy", "half-pixel"}));
  cmd->add_flag("--skip-corrupted", opt->skip_corrupted, "skip bad records, count and report them");
  add_compression_option(cmd, opt->compression);
  add_max_pixels_option(cmd, opt->max_pixels);
  cmd->add_option("--limit", opt->limit, "only the first N records in export order (the test split comes first)")
      ->check(at_least(1));
  cmd->callback([opt] {
    run_inspect(*opt);
    run_status() = 0;
  });
}

}  // namespace fcn::cli
