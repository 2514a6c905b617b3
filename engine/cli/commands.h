// The `fcn` subcommands. Each lives in its own cmd_<name>.cc and registers itself on the CLI11 app;
// the callback it installs runs the command and returns the process exit code through run_status().
#pragma once
#include <CLI/CLI.hpp>

#include <string>

#include "engine/dist/collectives.h"
#include "io/tfrecord_compression.h"

namespace fcn::cli {

void add_make_dataset_command(CLI::App& app);  // cmd_make_dataset.cc
void add_inspect_command(CLI::App& app);       // cmd_inspect.cc
void add_train_command(CLI::App& app);         // cmd_train.cc
void add_predict_command(CLI::App& app);       // cmd_predict.cc
void add_info_command(CLI::App& app);          // cmd_info.cc
void add_bench_command(CLI::App& app);         // cmd_bench.cc: the `bench` group
void add_bench_loader_command(CLI::App& bench);   // cmd_bench_loader.cc
void add_bench_kernels_command(CLI::App& bench);  // cmd_bench_kernels.cc
void add_bench_step_command(CLI::App& bench);     // cmd_bench_step.cc

// The --device option of train, predict and bench step: auto | cpu | cuda | cuda-emu, checked by CLI11.
CLI::Option* add_device_option(CLI::App* cmd, std::string& device);

// --dist-init, --rank, --world-size and --dist-timeout of train and bench step (dist_options.cc).
void add_dist_options(CLI::App* cmd, DistOptions& dist);

// --compression (auto | none | gzip | zlib) and --legend (NAME=VALUE,...) of the commands that read an
// export (export_options.cc); compression_from_flag turns the checked text into the reader's setting.
CLI::Option* add_compression_option(CLI::App* cmd, std::string& compression);
CLI::Option* add_legend_option(CLI::App* cmd, std::string& legend);
TfRecordCompression compression_from_flag(const std::string& text);
// --max-pixels: the largest image (width x height) decoded before it is refused (io/example.h DecodeLimits).
CLI::Option* add_max_pixels_option(CLI::App* cmd, int64_t& max_pixels);

// An integer option's check: at least `lo`, worded "must be at least 1, got 0" (validators.cc).
CLI::Validator at_least(int64_t lo);

// Exit code of the command that ran (0 unless a command set it).
int& run_status();

}  // namespace fcn::cli
