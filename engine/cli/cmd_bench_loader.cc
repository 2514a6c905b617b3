// fcn bench loader: throughput of the input pipeline on an export, by decode thread count, with and
// without the decoded-sample cache. Two numbers per row:
//   loader records/s   next_train() alone: read, CRC32C, Example parse, image decode, packing (workers)
//   end-to-end img/s   the same plus the resize of every image and target to SIZE x SIZE with
//                      resize_image_ref + resize_targets_ref on the consuming thread (as the CPU backend's
//                      prepare_batch does, single-threaded here)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/cli/commands.h"
#include "io/loader.h"
#include "io/manifest.h"
#include "kernels/cpu/reference.h"

namespace fcn::cli {
namespace {

struct BenchLoaderOptions {
  std::string export_path;
  std::string legend;
  std::string compression = "auto";
  std::string threads = "1,2";
  int batches = 20;
  int size = 512;
  int batch_size = 8;
};

struct Measurement {
  double records_per_s = 0;
  double decoded_mb_per_s = 0;
};

std::vector<int> parse_thread_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int n = 0;
    try {
      n = std::stoi(item);
    } catch (const std::exception&) {
      n = 0;
    }
    if (n < 1 || n > 256) {
      throw std::invalid_argument("bad --threads entry '" + item +
                                  "'\nHINT: pass a comma-separated list of thread counts, e.g. --threads 1,2,4");
    }
    out.push_back(n);
  }
  if (out.empty()) throw std::invalid_argument("--threads is empty\nHINT: e.g. --threads 1,2");
  return out;
}

// Runs `batches` timed batches (after a warm-up) and returns the rates. With resize, every sample is
// resized on this thread into scratch buffers allocated once.
Measurement measure(const Manifest& manifest, const BenchLoaderOptions& opt, int threads, bool cache,
                    bool resize) {
  LoaderOptions o;
  o.batch_size = opt.batch_size;
  o.threads = threads;
  o.prefetch = 4;
  o.seed = 1;
  o.cache_budget_bytes = cache ? (size_t(8) << 30) : 0;
  Loader loader(manifest, o);
  // Warm-up: with the cache, one full epoch so every train record is decoded once; otherwise two batches.
  int64_t warmup = cache ? (loader.train_records() + o.batch_size - 1) / o.batch_size + 1 : 2;
  for (int64_t i = 0; i < warmup; ++i) loader.next_train();

  std::vector<int> class_values;
  for (const LegendClass& c : manifest.legend) class_values.push_back(c.value);
  const int num_classes = static_cast<int>(class_values.size());
  std::vector<float> image(size_t(opt.size) * opt.size * 3);             // [size, size, 3]
  std::vector<float> targets(size_t(opt.size) * opt.size * num_classes);  // [size, size, C]

  int64_t records = 0;
  double bytes = 0;
  auto start = std::chrono::steady_clock::now();
  for (int b = 0; b < opt.batches; ++b) {
    const RawBatch& batch = loader.next_train();
    records += batch.count;
    bytes += double(batch.used_bytes);
    if (!resize) continue;
    for (int i = 0; i < batch.count; ++i) {
      const RawSampleInfo& info = batch.info[size_t(i)];
      resize_image_ref(image.data(), batch.bytes + info.image_offset, info.height, info.width, opt.size,
                       ResizeMapping::kLegacy);
      resize_targets_ref(targets.data(), batch.bytes + info.label_offset, info.height, info.width, opt.size,
                         class_values.data(), num_classes, ResizeMapping::kLegacy, false);
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {records / seconds, bytes / seconds / 1e6};
}

void run_bench_loader(const BenchLoaderOptions& opt) {
  Manifest manifest = open_export(opt.export_path, opt.legend);
  manifest.compression = compression_from_flag(opt.compression);
  std::vector<int> thread_counts = parse_thread_list(opt.threads);
  int64_t total_records = static_cast<int64_t>(index_export(manifest).size());
  std::printf("fcn bench loader: %s (%lld records in %zu files), batch %d, prefetch 4, %d timed batches\n",
              opt.export_path.c_str(), static_cast<long long>(total_records), manifest.tfrecord_paths.size(),
              opt.batch_size, opt.batches);
  std::printf("loader: read + CRC32C + parse + decode + pack on the worker threads\n");
  std::printf("end-to-end: loader + resize of image and targets to %dx%d (legacy bilinear, resize_image_ref + "
              "resize_targets_ref) on the consuming thread\n\n",
              opt.size, opt.size);
  std::printf("| threads | cache | loader records/s | decoded MB/s | end-to-end images/s |\n");
  std::printf("|---:|:---:|---:|---:|---:|\n");
  for (bool cache : {false, true}) {
    for (int threads : thread_counts) {
      Measurement loader_only = measure(manifest, opt, threads, cache, false);
      Measurement end_to_end = measure(manifest, opt, threads, cache, true);
      std::printf("| %d | %s | %.1f | %.1f | %.1f |\n", threads, cache ? "on" : "off", loader_only.records_per_s,
                  loader_only.decoded_mb_per_s, end_to_end.records_per_s);
      std::fflush(stdout);
    }
  }
}

}  // namespace

void add_bench_loader_command(CLI::App& bench) {
  auto opt = std::make_shared<BenchLoaderOptions>();
  CLI::App* cmd = bench.add_subcommand("loader", "Input pipeline throughput by thread count, cache off and on");
  cmd->add_option("--export", opt->export_path, "export.json to read, or one .tfrecord file with --legend")
      ->required();
  add_legend_option(cmd, opt->legend);
  add_compression_option(cmd, opt->compression);
  cmd->add_option("--threads", opt->threads, "comma-separated decode thread counts")->capture_default_str();
  cmd->add_option("--batches", opt->batches, "timed batches per row")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--size", opt->size, "resize target SIZE x SIZE for the end-to-end column")
      ->capture_default_str()
      ->check(CLI::Range(1, 8192));
  cmd->add_option("--batch-size", opt->batch_size, "samples per batch")->capture_default_str()->check(CLI::Range(1, 1024));
  cmd->callback([opt] {
    run_bench_loader(*opt);
    run_status() = 0;
  });
}

}  // namespace fcn::cli
