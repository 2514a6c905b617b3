// The training loop: loader -> backend.prepare_batch -> forward -> loss -> backward -> Adam, with
// evaluation on the test split, metrics.jsonl and TensorBoard logs, and atomic checkpoints. Deterministic:
// the seed fixes data order and initialisation, and a resumed run continues bit-identically.
#pragma once
#include <cstdint>
#include <string>

#include "engine/checkpoint.h"
#include "engine/dist/collectives.h"
#include "io/example.h"
#include "io/tfrecord_compression.h"

namespace fcn {

struct TrainOptions {
  std::string export_path;        // export.json, or a .tfrecord file with `legend`
  std::string legend;             // the legend of a .tfrecord export ("car=1,person=2"; io/manifest.h)
  TfRecordCompression compression = TfRecordCompression::kAuto;  // how the export's files are stored
  int64_t steps = 1000;           // the run's total steps (with resume: train up to this step)
  RunSettings settings;           // model, seed, batch, size, Adam, loss, resize (class values filled in)
  std::string device = "auto";    // auto | cpu | cuda
  bool size_chosen = true;        // false when the size is the default nobody asked for: on the CPU at
                                  // 256 or more, the run then says what a step costs (step_estimate.h)
  std::string conv_kernels = "auto";  // CUDA conv versions: auto | v1..v4 | a plan (engine/kernel_plan.h)
  int threads = 0;                // CPU compute threads (0: all cores)
  int loader_threads = 2;         // decode workers
  int prefetch = 4;               // staging buffers in flight
  int64_t cache_mb = 1024;        // keep decoded samples up to this many MiB (0: off)
  int64_t eval_every = 100;       // 0: only at the end
  int64_t save_every = 500;       // 0: only at the end
  int64_t log_images = 3;         // test images shown in TensorBoard at each evaluation
  std::string run_dir = "runs/latest";
  std::string resume;             // checkpoint to continue from
  std::string export_batches;     // write every batch and the test set here, for the PyTorch reference
  bool skip_corrupted = false;
  int64_t max_pixels = DecodeLimits{}.max_pixels;  // images larger than this are refused before decoding
  double max_skipped = 0.1;       // with skip_corrupted: stop once more than this fraction of a split fails
  bool quiet = false;             // no per-step lines (errors and the summary still print)
  int64_t check_every = 100;      // data parallel: compare the ranks' parameter checksums every K steps
};

// "0.8123", or "undefined (...)" for an IoU with no positive pixel in the targets or the predictions.
std::string iou_text(double iou);

struct TrainResult {
  int64_t final_step = 0;         // the model's step at the end (with resume: counted from the first run)
  int64_t steps_run = 0;          // steps this invocation ran
  int64_t resumed_from = -1;      // the checkpoint's step, -1 for a new run
  double last_train_loss = 0.0;
  double test_loss = 0.0;         // mean per image
  double test_iou = 0.0;
  double test_pixel_accuracy = 0.0;
  double wall_seconds = 0.0;
  bool evaluated = false;         // whether any evaluation ran (the test_* fields are valid)
  bool interrupted = false;
  std::string checkpoint;         // the last checkpoint written
};

// The conv versions a run asks its backend for: --conv-kernels, except that "auto" on a resume reuses the
// checkpoint's plan, so the resumed run sums in the same order as the run that wrote it (bit-identical on
// the GPU too). Throws std::invalid_argument (with a HINT) for a malformed --conv-kernels.
std::string kernel_plan_for_run(const std::string& conv_kernels, const std::string& checkpoint_plan);

// Runs a whole training run. Throws on bad input (after saving what can be saved).
TrainResult run_training(const TrainOptions& options);

// The same run, data parallel over the ranks of comm (engine/dist/collectives.h): every rank runs this
// with the same options; each takes its contiguous slice of every global batch (--batch stays the global
// batch), the gradients and losses are summed across ranks, every rank applies the same Adam update, and
// rank 0 alone prints, logs and writes checkpoints. A checkpoint resumes on any number of ranks. An
// error on one rank is thrown there; the caller stops the others (Collectives::abort_all).
TrainResult run_training(const TrainOptions& options, Collectives& comm);

// The flag the run's SIGINT/SIGTERM handler sets (for Collectives' waits) and the signal that set it
// (0: none yet): a run stopped by a signal exits with 128 + that signal, as a shell reports it.
const std::atomic<bool>* training_interrupt_flag();
int training_interrupt_signal();

}  // namespace fcn
