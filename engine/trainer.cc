// The training loop (see trainer.h). Reads top to bottom as one step: batch in, forward, loss, backward,
// Adam, log; evaluation and checkpoints every K steps; on Ctrl-C or an error, a last checkpoint first.
#include "engine/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "engine/batch_export.h"
#include "engine/kernel_plan.h"
#include "engine/memory_budget.h"
#include "engine/progress.h"
#include "engine/run_log.h"
#include "engine/step_estimate.h"
#include "engine/train_checks.h"
#include "io/loader.h"

namespace fcn {

namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<int> g_signal{0};
extern "C" void on_sigint(int signal) {
  g_signal.store(signal);
  g_interrupted.store(true);
}

// Installs the Ctrl-C handler for the duration of a run and restores the previous one afterwards.
struct InterruptGuard {
  using Handler = void (*)(int);
  Handler previous_int;
  Handler previous_term;
  InterruptGuard() {
    g_interrupted.store(false);
    g_signal.store(0);
    previous_int = std::signal(SIGINT, on_sigint);
    previous_term = std::signal(SIGTERM, on_sigint);
  }
  ~InterruptGuard() {
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
  }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// TF1 Adam's effective learning rate at step t (for logging).
double adam_lr_t(const AdamConfig& a, int64_t t) {
  return a.lr * std::sqrt(1.0 - std::pow(double(a.beta2), double(t))) /
         (1.0 - std::pow(double(a.beta1), double(t)));
}

struct EvalResult {
  int64_t images_evaluated = 0;   // over every rank (0: an empty test split)
  double loss_per_image = NAN;    // NaN when nothing was evaluated
  EvalCounts counts;
  std::vector<EvalImage> images;
};

// One pass over the test split. Data parallel: each rank evaluates its slice of every test batch and the
// sums are combined; the images kept for TensorBoard are the first of rank 0's slices.
EvalResult evaluate(Model& model, Backend& backend, Loader& loader, const RunSettings& s, int64_t log_images,
                    Collectives& comm, int64_t step) {
  EvalResult result;
  double loss_sum = 0.0;
  int64_t images = 0;
  const int64_t pixels = int64_t(s.size) * s.size;
  const int classes = s.model.classes;
  loader.begin_test();
  while (const RawBatch* batch = loader.next_test()) {
    if (batch->count == 0) continue;  // this rank's slice of a short last batch is empty
    backend.prepare_batch(model.input(), model.targets(), *batch, s.size, s.class_values, s.mapping,
                          s.nearest_targets);
    model.forward(batch->count);
    const int64_t n = int64_t(batch->count) * pixels * classes;
    loss_sum += backend.sigmoid_ce(nullptr, model.logits(), model.targets(), n, 1.0f);
    result.counts += backend.eval_counts(model.logits(), model.targets(), n);
    // Keep the first few images for TensorBoard and the progress strip.
    for (int i = 0; i < batch->count && int64_t(result.images.size()) < log_images; ++i) {
      EvalImage img;
      img.size = s.size;
      std::vector<float> x(pixels * 3), logits(pixels * classes), targets(pixels * classes);
      backend.download(x.data(), model.input() + int64_t(i) * pixels * 3, pixels * 3);
      backend.download(logits.data(), model.logits() + int64_t(i) * pixels * classes, pixels * classes);
      backend.download(targets.data(), model.targets() + int64_t(i) * pixels * classes, pixels * classes);
      img.rgb.resize(pixels * 3);
      for (int64_t p = 0; p < pixels * 3; ++p) {
        img.rgb[p] = uint8_t(std::lround(std::fmin(std::fmax(x[p], 0.0f), 255.0f)));
      }
      img.probability.resize(pixels);
      img.target.resize(pixels);
      for (int64_t p = 0; p < pixels; ++p) {
        img.probability[p] = sigmoid_stable(logits[p * classes]);
        img.target[p] = targets[p * classes];
      }
      result.images.push_back(std::move(img));
    }
    images += batch->count;
  }
  if (comm.size() > 1) {
    const std::string what = "evaluation at step " + std::to_string(step);
    double sums[2] = {loss_sum, double(images)};
    comm.allreduce_sum(sums, 2, what);
    loss_sum = sums[0];
    images = int64_t(sums[1]);
    EvalCounts& c = result.counts;
    int64_t counts[4] = {c.true_positive, c.false_positive, c.false_negative, c.true_negative};
    comm.allreduce_sum(counts, 4, what);
    c.true_positive = counts[0];
    c.false_positive = counts[1];
    c.false_negative = counts[2];
    c.true_negative = counts[3];
  }
  result.images_evaluated = images;
  if (images > 0) {
    result.loss_per_image =
        loss_sum / double(s.reduction == LossReduction::kMean ? images * pixels * classes : images);
  }
  return result;
}

// Every rank must hold the same parameters (same gradients, same Adam): compared by checksum.
void check_parameters_agree(Collectives& comm, const Model& model, int64_t step) {
  const std::vector<float> params = model.get_params();
  require_same_on_every_rank(comm, std::string(reinterpret_cast<const char*>(params.data()),
                                               params.size() * sizeof(float)),
                             "the parameters after step " + std::to_string(step));
}

std::string checkpoint_path(const std::string& run_dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "step-%07lld.safetensors", static_cast<long long>(step));
  return (std::filesystem::path(run_dir) / "checkpoints" / name).string();
}

}  // namespace

std::string iou_text(double iou) {
  if (std::isnan(iou)) return "undefined (no positive pixel in the targets or the predictions)";
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", iou);
  return text;
}

std::string kernel_plan_for_run(const std::string& conv_kernels, const std::string& checkpoint_plan) {
  parse_kernel_plan(conv_kernels);  // a bad --conv-kernels is an error on every device
  if (conv_kernels != "auto" || checkpoint_plan.empty()) return conv_kernels;
  try {
    parse_kernel_plan(checkpoint_plan);
  } catch (const std::invalid_argument& e) {
    const std::string why = e.what();
    throw std::invalid_argument("the checkpoint's kernel_plan cannot be used: " + why.substr(0, why.find('\n')) +
                                "\nHINT: pass --conv-kernels v3 (or another plan) to resume with other versions");
  }
  return checkpoint_plan;
}

const std::atomic<bool>* training_interrupt_flag() { return &g_interrupted; }
int training_interrupt_signal() { return g_signal.load(); }

TrainResult run_training(const TrainOptions& options) {
  const std::unique_ptr<Collectives> single = make_single_process_collectives();
  return run_training(options, *single);
}

TrainResult run_training(const TrainOptions& options, Collectives& comm) {
  const RunSettings& s = options.settings;
  const int rank = comm.rank();
  const int ranks = comm.size();
  const bool root = rank == 0;  // the rank that prints, logs and writes checkpoints
  check_train_options(options);
  if (s.class_values.empty()) throw std::invalid_argument("the legend has no classes");
  if (s.batch < ranks) {
    throw std::invalid_argument("--batch " + std::to_string(s.batch) + " over " + std::to_string(ranks) +
                                " ranks leaves ranks without samples\nHINT: --batch is the global batch: use at "
                                "least " + std::to_string(ranks) + ", or fewer ranks");
  }
  if (ranks > 1 && !options.export_batches.empty()) {
    throw std::invalid_argument("--export-batches writes a single process's batches\nHINT: run it without mpirun");
  }
  if (ranks > 1) {
    require_same_on_every_rank(comm, settings_text(s) + " steps " + std::to_string(options.steps) + " resume " +
                                         options.resume + " export " + options.export_path,
                               "the run's settings (flags, export and --resume)");
  }

  const auto start = std::chrono::steady_clock::now();
  Manifest manifest = open_export(options.export_path, options.legend);
  manifest.compression = options.compression;

  // A checkpoint to resume from is read (and checked) before anything is written.
  CheckpointState resumed;
  const bool resuming = !options.resume.empty();
  if (resuming) {
    resumed = load_checkpoint(options.resume);
    check_resume_compatible(resumed.settings, s, options.resume);
  }

  BackendChoice choice = make_backend(options.device, options.threads);
  Backend& backend = *choice.backend;
  if (root) std::printf("%s\n", choice.note.c_str());
  backend.set_kernel_plan(kernel_plan_for_run(options.conv_kernels, resumed.kernel_plan));
  std::unique_ptr<GradientReducer> reducer;
  if (ranks > 1) {
    reducer = backend.make_gradient_reducer(comm);
    if (root) {
      std::printf("data parallel: %d ranks over %s; gradients %s\n", ranks, comm.describe().c_str(),
                  reducer->describe().c_str());
    }
  }
  if (root && !backend.is_gpu() && options.conv_kernels != "auto") {
    std::printf("note: --conv-kernels %s applies to the CUDA backend only; the CPU has one version per op\n",
                options.conv_kernels.c_str());
  }

  // Before anything large is allocated: a batch or size past the device's memory is refused with numbers.
  const int slice_images = batch_slice(s.batch, 0, ranks).count();  // rank 0's slice is the largest
  if (root && !backend.is_gpu() && !options.size_chosen && s.size >= 256) {
    const double seconds = estimate_step_seconds(backend, s.model, slice_images, s.size);
    const double at_128 = seconds * step_conv_flops(conv_shapes(s.model, slice_images, 128)) /
                          step_conv_flops(conv_shapes(s.model, slice_images, s.size));
    std::printf("%s\n", slow_size_note(s.size, s.batch, seconds, at_128).c_str());
  }
  check_model_fits(backend, s.model, slice_images, s.size, s.size,
                   "--batch " + std::to_string(s.batch) + (ranks > 1 ? " (" + std::to_string(slice_images) +
                                                                           " images on this rank)" : "") +
                       " at --size " + std::to_string(s.size));

  LoaderOptions lo;
  lo.batch_size = s.batch;
  lo.threads = options.loader_threads;
  lo.prefetch = options.prefetch;
  lo.shuffle_buffer = s.shuffle_buffer;
  lo.seed = s.seed;
  lo.test_fraction = s.test_fraction;
  lo.skip_corrupted = options.skip_corrupted;
  lo.max_skipped_fraction = options.max_skipped;
  lo.limits.max_pixels = options.max_pixels;
  lo.allocator = backend.staging_allocator();
  lo.cache_budget_bytes = size_t(std::max<int64_t>(options.cache_mb, 0)) << 20;
  lo.slice_rank = rank;
  lo.slice_ranks = ranks;
  Loader loader(manifest, lo);
  if (loader.train_records() == 0) {
    throw std::runtime_error("the export " + options.export_path + " has no training records after the split (" +
                             std::to_string(loader.test_records()) +
                             " test records)\nHINT: add records or lower --test-fraction");
  }

  Model model(backend, s.model, slice_images, s.size);
  if (resuming) {
    model.set_params(resumed.params);
    model.set_adam_moments(resumed.adam_m, resumed.adam_v);
    model.set_step(resumed.step);
    loader.seek(LoaderPosition{resumed.train_samples_produced});
  } else {
    std::vector<float> init;
    glorot_init(init, s.model, s.seed);
    model.set_params(init);
  }
  if (root) {
    std::printf("model: %s, %lld parameters, %.1f MiB on %s\n", s.model.describe().c_str(),
                static_cast<long long>(parameter_count(s.model)), model.bytes_allocated() / 1048576.0,
                backend.is_gpu() ? "the GPU" : "the CPU");
    if (const std::string kernels = backend.describe_kernel_plan(); !kernels.empty()) {
      std::printf("kernels: %s\n", kernels.c_str());
    }
    std::printf("data: %lld train and %lld test records, batch %d at %dx%d, seed %llu\n",
                static_cast<long long>(loader.train_records()), static_cast<long long>(loader.test_records()),
                s.batch, s.size, s.size, static_cast<unsigned long long>(s.seed));
    if (ranks > 1) {
      std::printf("slices of each batch: rank 0 takes %d images, rank %d takes %d\n",
                  batch_slice(s.batch, 0, ranks).count(), ranks - 1, batch_slice(s.batch, ranks - 1, ranks).count());
    }
  }

  // Only rank 0 writes into the run directory.
  std::unique_ptr<RunLog> log;
  if (root) {
    std::filesystem::create_directories(std::filesystem::path(options.run_dir) / "checkpoints");
    log = std::make_unique<RunLog>(options.run_dir, resuming ? resumed.step : -1);
    if (log->superseded_lines() > 0) {
      std::printf("metrics.jsonl: dropped %lld lines of steps after %lld, which this resume runs again\n",
                  static_cast<long long>(log->superseded_lines()), static_cast<long long>(resumed.step));
    }
  }
  std::unique_ptr<BatchExporter> exporter;
  if (!options.export_batches.empty()) {
    exporter = std::make_unique<BatchExporter>(options.export_batches, options, model, backend, loader);
  }

  TrainResult result;
  int64_t last_saved = resuming ? resumed.step : -1;
  std::string last_checkpoint = options.resume;  // the last good checkpoint, for the divergence message
  bool diverged = false;  // the weights are not worth keeping: nothing is saved on the way out
  // The loader position after the last completed step: a step that fails has already taken its batch,
  // and the checkpoint written on the way out must resume with that batch, as an uninterrupted run would.
  LoaderPosition completed_position = loader.position();
  // The error for diverged weights (after `step`): they are not saved and the last good checkpoint stays.
  auto divergence = [&](const std::string& what, int64_t step) {
    diverged = true;
    const std::string kept =
        last_checkpoint.empty() ? "no checkpoint was written before" : "the last good checkpoint is " + last_checkpoint;
    return std::runtime_error(what + "; the weights after step " + std::to_string(step) + " are not saved (" + kept +
                              ")\nHINT: lower --lr, or use --loss-reduction mean" +
                              (last_checkpoint.empty() ? "" : ", resuming with --resume " + last_checkpoint));
  };
  auto save = [&](int64_t step) {
    const std::string path = checkpoint_path(options.run_dir, step);
    if (!root) {  // rank 0 writes; the others keep count
      last_saved = step;
      result.checkpoint = path;
      return;
    }
    CheckpointState state;
    state.settings = s;
    state.step = step;
    state.train_samples_produced = completed_position.train_samples_produced;
    state.params = model.get_params();
    state.adam_m = model.get_adam_m();
    state.adam_v = model.get_adam_v();
    state.kernel_plan = backend.kernel_plan();
    if (const std::string bad = first_non_finite(state); !bad.empty()) {
      throw divergence("the run diverged: " + bad, step);
    }
    save_checkpoint(path, state);
    save_checkpoint((std::filesystem::path(options.run_dir) / "latest.safetensors").string(), state);
    last_saved = step;
    result.checkpoint = last_checkpoint = path;
  };
  // Saving in the normal course of the run: first check that every rank holds the same parameters.
  auto save_checked = [&](int64_t step) {
    if (ranks > 1) check_parameters_agree(comm, model, step);
    save(step);
  };
  auto run_eval = [&](int64_t step) {
    EvalResult e = evaluate(model, backend, loader, s, options.log_images, comm, step);
    if (e.images_evaluated == 0) return e;  // an empty test split: nothing to report (the caller says so)
    result.test_loss = e.loss_per_image;
    result.test_iou = e.counts.iou();
    result.test_pixel_accuracy = e.counts.pixel_accuracy();
    result.evaluated = true;
    if (log) {
      log->evaluation(step, result.test_loss, result.test_iou, result.test_pixel_accuracy);
      log->eval_images(step, e.images);
      log->histograms(step, model.layout(), model.get_params(), model.get_grads());
      log->flush();
    }
    return e;
  };

  ProgressLine progress(options.steps, options.quiet || !root);
  InterruptGuard interrupt_guard;
  const int64_t first_step = model.step() + 1;
  const int64_t images_per_step = s.batch;
  result.final_step = model.step();
  result.resumed_from = resuming ? resumed.step : -1;
  if (root && resuming && options.steps < first_step) {
    std::printf("nothing to train: the checkpoint is at step %lld and --steps %lld is the run's total\n"
                "HINT: pass a --steps above %lld to train on\n",
                static_cast<long long>(resumed.step), static_cast<long long>(options.steps),
                static_cast<long long>(resumed.step));
  }
  try {
    for (int64_t step = first_step; step <= options.steps; ++step) {
      const auto step_start = std::chrono::steady_clock::now();
      const RawBatch& batch = loader.next_train();
      if (root && step == first_step) {
        for (const std::string& warning : legend_warnings(s.class_names, s.class_values, batch, options.export_path)) {
          progress.pause();
          std::fprintf(stderr, "fcn: warning: %s\n", warning.c_str());
        }
      }
      backend.prepare_batch(model.input(), model.targets(), batch, s.size, s.class_values, s.mapping,
                            s.nearest_targets);
      if (exporter) exporter->add_train_batch(backend, model, batch.count);
      model.forward(batch.count);
      // The L2 term and its gradient come in once, on rank 0, so that the sums over ranks hold them once.
      const float weight_decay = root ? s.weight_decay : 0.0f;
      // Summed across ranks with the stop request, so that every rank stops after the same step.
      double loss_and_stop[2] = {model.loss_and_dlogits(batch.count, s.reduction, weight_decay, batch.global_count),
                                 g_interrupted.load() ? 1.0 : 0.0};
      comm.allreduce_sum(loss_and_stop, 2, "the loss of step " + std::to_string(step));
      const double loss = loss_and_stop[0];
      // Only the summed request: a signal that lands after the sum is seen by every rank at the next step
      // (reading the local flag again here let one rank stop a step before the others).
      const bool stop_requested = loss_and_stop[1] > 0.0;
      // Checked before backward and Adam, so that the checkpoint saved on the way out holds the previous
      // step's weights and moments rather than an update from a non-finite loss.
      // The weights that gave it are diverged: they are not saved, and the last good checkpoint stays.
      if (!std::isfinite(loss)) {
        throw divergence("the training loss became " + std::string(std::isnan(loss) ? "nan" : "inf") + " at step " +
                             std::to_string(step),
                         step - 1);
      }
      model.backward(batch.count, weight_decay, reducer.get());  // with ranks: returns with the sums in place
      model.adam_step(s.adam);
      completed_position = loader.position();
      // No synchronize here: on a GPU, backward and Adam stay queued while the host fetches the next batch,
      // whose host-to-device copy then overlaps them (CudaBackend's copy stream). The loss read-back above
      // waits for the previous step's queued work and this step's forward, so in steady state step_s is the
      // GPU's time per step. Everything that reads results back (evaluation, checkpoints) synchronizes.
      const double step_s = seconds_since(step_start);

      result.final_step = step;
      result.steps_run = step - first_step + 1;
      result.last_train_loss = loss;
      if (log) log->train_step(step, loss, adam_lr_t(s.adam, step), images_per_step / step_s, step_s * 1e3);
      progress.update(step, loss, images_per_step / step_s);

      const bool last = step == options.steps;
      if (last || (options.eval_every > 0 && step % options.eval_every == 0)) {
        progress.pause();
        const EvalResult e = run_eval(step);
        if (root) {
          if (e.images_evaluated == 0) {
            std::printf("eval  step %lld: not evaluated: the test split holds no images (--test-fraction %g of %lld "
                        "records)\n",
                        static_cast<long long>(step), s.test_fraction, static_cast<long long>(loader.test_records() +
                                                                                              loader.train_records()));
          } else {
            std::printf("eval  step %lld: test loss/image %.4f  IoU %s  pixel accuracy %.4f\n",
                        static_cast<long long>(step), result.test_loss, iou_text(result.test_iou).c_str(),
                        result.test_pixel_accuracy);
          }
          std::fflush(stdout);
        }
      }
      if (last || (options.save_every > 0 && step % options.save_every == 0)) {
        save_checked(step);
      } else if (ranks > 1 && options.check_every > 0 && step % options.check_every == 0) {
        check_parameters_agree(comm, model, step);
      }
      if (stop_requested) {
        result.interrupted = true;
        break;
      }
    }
    if (options.steps < first_step && !resuming) {
      run_eval(0);  // --steps 0: evaluate the initialisation
    }
  } catch (...) {
    // Nothing lost on failure: keep the last completed step before reporting the error.
    progress.pause();
    // Data parallel: no collective here (another rank may be the reason for stopping); rank 0 saves its
    // own copy of the last completed step, which every rank shared.
    if (root && !diverged && result.final_step > 0 && result.final_step != last_saved) {
      try {
        save(result.final_step);
        std::fprintf(stderr, "fcn: saved %s before stopping\n", result.checkpoint.c_str());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "fcn: could not save a checkpoint while stopping: %s\n", e.what());
      }
    }
    if (log) log->flush();
    throw;
  }
  progress.pause();
  if (result.interrupted) {
    if (result.final_step != last_saved) save_checked(result.final_step);
    if (root) {
      std::printf("interrupted at step %lld; checkpoint %s\nresume with: --resume %s\n",
                  static_cast<long long>(result.final_step), result.checkpoint.c_str(), result.checkpoint.c_str());
    }
  }
  if (log) {
    const std::string strip = log->write_progress_strip();
    if (!strip.empty()) std::printf("progress strip: %s\n", strip.c_str());
    log->flush();
  }
  result.wall_seconds = seconds_since(start);
  return result;
}

}  // namespace fcn
