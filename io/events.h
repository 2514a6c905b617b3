// TensorBoard event files without TensorFlow: TFRecord-framed tensorflow.Event protos (proto/event.proto).
//   <dir>/events.out.tfevents.<10-digit unix seconds>.<hostname>
//   record 0: Event{wall_time, file_version = "brain.Event:2"}
//   record k: Event{wall_time, step, summary = Summary{Value{tag, simple_value | image | histo}}}
// Histograms use TensorFlow's default bucketing (tensorflow/core/lib/histogram/histogram.cc).
// docs/TENSORBOARD.md walks through the bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fcn {

// TensorFlow's default histogram bucket right edges, ascending: -DBL_MAX, -(1e-12 * 1.1^k) descending in
// magnitude, 0, 1e-12 * 1.1^k for k = 0.. while < 1e20, DBL_MAX (1551 limits).
const std::vector<double>& default_histogram_bucket_limits();

// The bucket v falls in: the first i with default_histogram_bucket_limits()[i] > v, as TensorFlow's
// std::upper_bound, found in constant time. Values beyond +-1e20 go to the outermost buckets.
size_t histogram_bucket_index(double v);

// A histogram in HistogramProto's terms. bucket[i] counts values v with
// bucket_limit[i-1] <= v < bucket_limit[i]; only the span from the first to the last non-empty default
// bucket is kept, and each run of empty buckets inside it is collapsed into one zero entry whose limit is
// the run's right edge (TensorFlow's EncodeToProto also collapses runs; it keeps the outer empty runs too).
struct HistogramSummary {
  double min = 0.0;
  double max = 0.0;
  double num = 0.0;          // finite values counted
  double sum = 0.0;
  double sum_squares = 0.0;
  std::vector<double> bucket_limit;
  std::vector<double> bucket;
  int64_t nonfinite = 0;     // NaN / +-Inf values left out of everything above
};

// values: [count]. Accumulates in double. With no finite values: min = max = 0 and one empty bucket
// {DBL_MAX: 0}, as TensorFlow writes for an empty histogram.
HistogramSummary compute_histogram(const float* values, int64_t count);

// The file name TensorBoard expects: events.out.tfevents.<%010lld seconds>.<hostname>.
std::string event_file_name(int64_t unix_seconds, const std::string& hostname);

// Writes one events file. Not thread-safe: use one writer per thread, or lock around it.
// Records go through a stdio buffer; flush() (called at most every few seconds by the add_* calls
// themselves, and by the destructor) makes them visible to a running TensorBoard.
class EventWriter {
 public:
  // Creates dir (and parents) if needed, then the file; if a file of that name already exists (two
  // writers started in the same second) a ".<n>" suffix is added. Throws DataError(kIo) on failure.
  explicit EventWriter(const std::string& dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // One Event per call. Cheap enough to call every step: no allocation after the first call.
  void add_scalar(const std::string& tag, int64_t step, float value);
  // A SessionLog START at `step`: TensorBoard then drops earlier files' events from that step on.
  void add_session_start(int64_t step);
  // pixels: [height, width, channels], channels 1 (gray), 3 (RGB) or 4 (RGBA); stored as PNG.
  // Throws std::invalid_argument on bad dimensions.
  void add_image(const std::string& tag, int64_t step, const uint8_t* pixels, int height, int width,
                 int channels);
  // values: [count]. Returns the number of non-finite values that were left out (0 normally).
  int64_t add_histogram(const std::string& tag, int64_t step, const float* values, int64_t count);

  void flush();
  const std::string& path() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fcn
