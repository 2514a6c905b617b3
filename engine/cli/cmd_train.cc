// fcn train: trains the FCN on a Labelbox export (see engine/trainer.h for the loop itself).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "engine/checkpoint.h"
#include "engine/cli/commands.h"
#include "engine/trainer.h"
#include "io/manifest.h"

namespace fcn::cli {

namespace {

struct TrainArgs {
  TrainOptions options;
  std::string compression = "auto";
  DistOptions dist;
  std::string reduction = "sum";
  std::string resize = "legacy";
  float lr = 1e-4f;
};

// The settings the flags ask for; on --resume, the checkpoint's settings except where a flag was given.
RunSettings resolve_settings(const TrainArgs& args, const CLI::App& cmd) {
  RunSettings asked = args.options.settings;
  asked.adam.lr = args.lr;
  asked.reduction = parse_reduction(args.reduction);
  asked.mapping = parse_mapping(args.resize);
  const Manifest manifest = open_export(args.options.export_path, args.options.legend);
  asked.class_values.clear();
  asked.class_names.clear();
  for (const LegendClass& c : manifest.legend) {
    asked.class_values.push_back(c.value);
    asked.class_names.push_back(c.name);
  }
  asked.model.classes = int(asked.class_values.size());
  if (args.options.resume.empty()) return asked;

  RunSettings merged = load_checkpoint(args.options.resume).settings;
  auto given = [&cmd](const char* flag) { return cmd.count(flag) > 0; };
  if (given("--lr")) merged.adam.lr = asked.adam.lr;
  if (given("--beta1")) merged.adam.beta1 = asked.adam.beta1;
  if (given("--beta2")) merged.adam.beta2 = asked.adam.beta2;
  if (given("--eps")) merged.adam.eps = asked.adam.eps;
  if (given("--weight-decay")) merged.weight_decay = asked.weight_decay;
  if (given("--loss-reduction")) merged.reduction = asked.reduction;
  if (given("--resize")) merged.mapping = asked.mapping;
  if (given("--nearest-targets")) merged.nearest_targets = asked.nearest_targets;
  // Structural settings must match: what was not given is taken from the checkpoint, what was given is
  // checked by run_training against it.
  RunSettings structural = merged;
  if (given("--channels")) structural.model.channels = asked.model.channels;
  if (given("--layers")) structural.model.layers = asked.model.layers;
  if (given("--kernel")) structural.model.kernel = asked.model.kernel;
  if (given("--batch")) structural.batch = asked.batch;
  if (given("--size")) structural.size = asked.size;
  if (given("--seed")) structural.seed = asked.seed;
  if (given("--test-fraction")) structural.test_fraction = asked.test_fraction;
  if (given("--shuffle-buffer")) structural.shuffle_buffer = asked.shuffle_buffer;
  structural.class_values = asked.class_values;
  structural.class_names = asked.class_names;
  structural.model.classes = asked.model.classes;
  return structural;
}

// One rank's training run; rank 0 prints the summary. An error on any rank of several stops them all.
void train_on_every_rank(const TrainArgs& args, const CLI::App& cmd) {
  TrainOptions options = args.options;
  DistOptions dist = args.dist;
  dist.interrupted = training_interrupt_flag();
  const std::unique_ptr<Collectives> comm = make_collectives(dist);
  const bool several = comm->size() > 1;
  TrainResult r;
  try {
    options.compression = compression_from_flag(args.compression);
    options.settings = resolve_settings(args, cmd);
    // A resumed run keeps its checkpoint's size: only a fresh run at the default gets the CPU note.
    options.size_chosen = cmd.count("--size") > 0 || !options.resume.empty();
    r = run_training(options, *comm);
  } catch (const DistInterrupted& e) {
    std::fprintf(stderr, "fcn: %s\n", e.what());
    comm->abort_all(128 + (training_interrupt_signal() ? training_interrupt_signal() : SIGINT));
  } catch (const std::exception& e) {
    if (!several) throw;
    std::fprintf(stderr, "fcn: error on rank %d of %d: %s\n", comm->rank(), comm->size(), e.what());
    comm->abort_all(1);
  }
  if (r.interrupted) run_status() = 128 + (training_interrupt_signal() ? training_interrupt_signal() : SIGINT);
  if (comm->rank() != 0) return;
  std::printf("done: %lld steps", static_cast<long long>(r.steps_run));
  if (r.resumed_from >= 0) {
    std::printf(" (resumed at step %lld, now at step %lld)", static_cast<long long>(r.resumed_from),
                static_cast<long long>(r.final_step));
  }
  std::printf(" in %.1f s", r.wall_seconds);
  if (r.steps_run > 0) std::printf(" | train loss %.4f", r.last_train_loss);
  if (r.evaluated) {
    std::printf(" | test IoU %s | pixel accuracy %.4f\n", iou_text(r.test_iou).c_str(), r.test_pixel_accuracy);
  } else {
    std::printf(" | not evaluated (the test split is empty, or no step ran)\n");
  }
  std::printf("run: %s (metrics.jsonl, train/ and test/ for `tensorboard --logdir %s`)\n",
              options.run_dir.c_str(), options.run_dir.c_str());
  if (!r.checkpoint.empty()) std::printf("checkpoint: %s\n", r.checkpoint.c_str());
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  TrainOptions& o = args->options;
  RunSettings& s = o.settings;
  CLI::App* cmd = app.add_subcommand("train", "Train the FCN on a Labelbox export (export.json)");
  cmd->add_option("--export", o.export_path, "export.json of the dataset, or one .tfrecord file with --legend")
      ->required();
  add_legend_option(cmd, o.legend);
  add_compression_option(cmd, args->compression);
  add_max_pixels_option(cmd, o.max_pixels);
  cmd->add_option("--steps", o.steps, "Total training steps of the run (with --resume: up to this step)")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--batch", s.batch, "Images per batch")->check(at_least(1))->capture_default_str();
  cmd->add_option("--size", s.size, "Images are resized to SIZE x SIZE")
      ->check(at_least(1))
      ->capture_default_str();
  cmd->add_option("--lr", args->lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--beta1", s.adam.beta1, "Adam beta1")->capture_default_str();
  cmd->add_option("--beta2", s.adam.beta2, "Adam beta2")->capture_default_str();
  cmd->add_option("--eps", s.adam.eps, "Adam epsilon")->capture_default_str();
  cmd->add_option("--weight-decay", s.weight_decay, "L2 term on conv weights (the seed declared 5e-4, unused)")
      ->capture_default_str();
  cmd->add_option("--seed", s.seed, "Seed for data order and initialisation")->capture_default_str();
  add_device_option(cmd, o.device);
  cmd->add_option("--conv-kernels", o.conv_kernels,
                  "CUDA conv versions: auto (validate and time each on this GPU), v1..v4, or a plan as printed "
                  "(a resume reuses the checkpoint's)")
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU compute threads (0: all cores)")->capture_default_str();
  cmd->add_option("--loader-threads", o.loader_threads, "Image decode threads")->capture_default_str();
  cmd->add_option("--prefetch", o.prefetch, "Batches prepared ahead")->capture_default_str();
  cmd->add_option("--cache-mb", o.cache_mb, "Keep decoded images in memory up to this many MiB (0: off)")
      ->capture_default_str();
  cmd->add_option("--eval-every", o.eval_every, "Evaluate on the test split every K steps (0: at the end)")
      ->capture_default_str();
  cmd->add_option("--save-every", o.save_every, "Checkpoint every K steps (0: at the end)")->capture_default_str();
  cmd->add_option("--run-dir", o.run_dir, "Where metrics, logs and checkpoints go")->capture_default_str();
  cmd->add_option("--resume", o.resume, "Continue from this checkpoint (bit-identical to not stopping)");
  cmd->add_option("--channels", s.model.channels, "Width of the hidden conv layers")->capture_default_str();
  cmd->add_option("--layers", s.model.layers, "Number of hidden conv layers")->capture_default_str();
  cmd->add_option("--kernel", s.model.kernel, "Hidden conv kernel size (odd)")->capture_default_str();
  cmd->add_option("--loss-reduction", args->reduction, "sum (the seed's) | mean")
      ->check(CLI::IsMember({"sum", "mean"}))
      ->capture_default_str();
  cmd->add_option("--resize", args->resize, "legacy (TF1 resize_images) | half-pixel (TF2)")
      ->check(CLI::IsMember({"legacy", "half-pixel"}))
      ->capture_default_str();
  cmd->add_flag("--nearest-targets", s.nearest_targets, "Resize label masks with nearest neighbour");
  cmd->add_option("--test-fraction", s.test_fraction, "Fraction of records (from the start) held out")
      ->capture_default_str();
  cmd->add_option("--shuffle-buffer", s.shuffle_buffer, "Shuffle buffer size")->capture_default_str();
  cmd->add_option("--log-images", o.log_images, "Test images shown in TensorBoard")->capture_default_str();
  cmd->add_option("--export-batches", o.export_batches, "Also write every batch here (for the PyTorch reference)");
  cmd->add_flag("--skip-corrupted", o.skip_corrupted, "Skip corrupted records instead of stopping");
  cmd->add_option("--max-skipped", o.max_skipped,
                  "With --skip-corrupted: stop once more than this fraction of a split's records failed")
      ->capture_default_str();
  cmd->add_flag("--quiet", o.quiet, "No per-step lines");
  // Data parallel (README: "Training on several GPUs or machines").
  add_dist_options(cmd, args->dist);
  cmd->add_option("--check-every", o.check_every, "Several processes: compare the ranks' parameters every K steps "
                  "(0: only at checkpoints)")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->callback([args, cmd] { train_on_every_rank(*args, *cmd); });
}

}  // namespace fcn::cli
