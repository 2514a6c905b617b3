// The options that say how to read an export, shared by train, inspect and bench loader: --legend (the
// classes of a .tfrecord given as the export), --compression (how its files are stored) and --max-pixels
// (the largest image decoded; predict has it too).
#include "engine/cli/commands.h"

#include <stdexcept>

namespace fcn::cli {

CLI::Option* add_compression_option(CLI::App* cmd, std::string& compression) {
  return cmd
      ->add_option("--compression", compression,
                   "How the .tfrecord files are stored: auto (from their first bytes), none, gzip or zlib "
                   "(tf.data's compression_type)")
      ->check(CLI::IsMember({"auto", "none", "gzip", "zlib", "GZIP", "ZLIB"}))
      ->capture_default_str();
}

CLI::Option* add_legend_option(CLI::App* cmd, std::string& legend) {
  return cmd->add_option("--legend", legend,
                         "With a .tfrecord as --export: its classes as NAME=VALUE[,NAME=VALUE...], VALUE being the "
                         "class's pixel value in the label masks (e.g. car=1)");
}

CLI::Option* add_max_pixels_option(CLI::App* cmd, int64_t& max_pixels) {
  return cmd
      ->add_option("--max-pixels", max_pixels,
                   "Refuse images larger than this many pixels (width x height) before decoding them")
      ->check(at_least(1))
      ->capture_default_str();
}

TfRecordCompression compression_from_flag(const std::string& text) {
  TfRecordCompression compression = TfRecordCompression::kAuto;
  if (!parse_tfrecord_compression(text, &compression)) {
    throw std::invalid_argument("--compression " + text + ": expected auto, none, gzip or zlib");
  }
  return compression;
}

}  // namespace fcn::cli
