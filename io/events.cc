// EventWriter: TensorBoard events files as TFRecord-framed tensorflow.Event protos, and the
// TensorFlow-compatible histogram bucketing behind add_histogram.
#include "io/events.h"

#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <system_error>

#include "io/image_codec.h"
#include "io/tfrecord.h"
#include "proto/event.pb.h"

namespace fcn {

namespace {

constexpr const char* kFileVersion = "brain.Event:2";
// A running TensorBoard sees new records once they leave the stdio buffer; this bounds the delay.
constexpr double kAutoFlushSeconds = 5.0;

double unix_time_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string local_hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// Picks <dir>/<base>, or <dir>/<base>.<n> for the first n that is free.
std::string unused_path(const std::filesystem::path& dir, const std::string& base) {
  std::filesystem::path candidate = dir / base;
  for (int n = 1; std::filesystem::exists(candidate); ++n) {
    candidate = dir / (base + "." + std::to_string(n));
  }
  return candidate.string();
}

}  // namespace

const std::vector<double>& default_histogram_bucket_limits() {
  static const std::vector<double> limits = [] {
    // Positive edges grow by 10% from 1e-12 while below 1e20, computed by repeated multiplication in
    // double exactly as TensorFlow does so the edges agree to the last bit.
    std::vector<double> positive;
    for (double edge = 1.0e-12; edge < 1.0e20; edge *= 1.1) positive.push_back(edge);
    std::vector<double> all;
    all.reserve(2 * positive.size() + 3);
    all.push_back(-DBL_MAX);
    for (auto it = positive.rbegin(); it != positive.rend(); ++it) all.push_back(-*it);
    all.push_back(0.0);
    all.insert(all.end(), positive.begin(), positive.end());
    all.push_back(DBL_MAX);
    return all;
  }();
  return limits;
}

size_t histogram_bucket_index(double v) {
  // limits = [-DBL_MAX, -edge[n-1] .. -edge[0], 0, edge[0] .. edge[n-1], DBL_MAX], edge[k] = 1e-12 * 1.1^k.
  // A logarithm guesses k, then comparisons with the stored edges make the answer exact (the guess is
  // off by at most one; the loops also cover rounding in log()).
  const std::vector<double>& limits = default_histogram_bucket_limits();
  const size_t zero = limits.size() / 2;
  const int n = static_cast<int>(zero) - 1;  // positive edges
  const double* edge = limits.data() + zero + 1;
  if (std::isnan(v)) return limits.size() - 1;  // callers skip NaN; clamped as TensorFlow's end index
  if (std::isinf(v)) return v > 0.0 ? limits.size() - 1 : 0;
  const double magnitude = std::fabs(v);
  if (magnitude <= edge[0]) {
    // [0, edge0) -> the bucket ending at edge0, v == edge0 -> the next one, [-edge0, 0) -> the one ending at 0.
    if (v >= 0.0) return v < edge[0] ? zero + 1 : zero + 2;
    return zero;
  }
  // log(magnitude) + log(1e12), not log(magnitude * 1e12): the product overflows to inf near DBL_MAX, and
  // casting inf to int is undefined (UBSan). Clamped as a double first for the same reason.
  const double estimate = (std::log(magnitude) + std::log(1.0e12)) / std::log(1.1);
  int k = static_cast<int>(std::clamp(estimate, 0.0, double(n - 1)));
  if (v > 0.0) {
    // Largest k with edge[k] <= v; the bucket is the next limit.
    while (k + 1 < n && edge[k + 1] <= v) ++k;
    while (k > 0 && edge[k] > v) --k;
    return zero + 2 + k;
  }
  // Largest k with edge[k] < |v|; the bucket ends at -edge[k].
  while (k + 1 < n && edge[k + 1] < magnitude) ++k;
  while (k > 0 && edge[k] >= magnitude) --k;
  return zero - 1 - k;
}

HistogramSummary compute_histogram(const float* values, int64_t count) {
  const std::vector<double>& limits = default_histogram_bucket_limits();
  std::vector<double> counts(limits.size(), 0.0);
  HistogramSummary hist;
  double min_value = DBL_MAX;
  double max_value = -DBL_MAX;
  for (int64_t i = 0; i < count; ++i) {
    double v = values[i];
    if (!std::isfinite(v)) {
      ++hist.nonfinite;
      continue;
    }
    counts[histogram_bucket_index(v)] += 1.0;
    min_value = std::min(min_value, v);
    max_value = std::max(max_value, v);
    hist.num += 1.0;
    hist.sum += v;
    hist.sum_squares += v * v;
  }
  if (hist.num == 0.0) {
    hist.bucket_limit.push_back(DBL_MAX);
    hist.bucket.push_back(0.0);
    return hist;
  }
  hist.min = min_value;
  hist.max = max_value;
  size_t first = 0;
  while (counts[first] == 0.0) ++first;
  size_t last = counts.size() - 1;
  while (counts[last] == 0.0) --last;
  for (size_t i = first; i <= last;) {
    if (counts[i] > 0.0) {
      hist.bucket_limit.push_back(limits[i]);
      hist.bucket.push_back(counts[i]);
      ++i;
      continue;
    }
    size_t run_end = i;  // a run of empty buckets becomes one zero entry ending at the run's right edge
    while (run_end + 1 <= last && counts[run_end + 1] == 0.0) ++run_end;
    hist.bucket_limit.push_back(limits[run_end]);
    hist.bucket.push_back(0.0);
    i = run_end + 1;
  }
  return hist;
}

std::string event_file_name(int64_t unix_seconds, const std::string& hostname) {
  char stamp[32];
  std::snprintf(stamp, sizeof(stamp), "%010lld", static_cast<long long>(unix_seconds));
  return std::string("events.out.tfevents.") + stamp + "." + hostname;
}

struct EventWriter::State {
  std::string path;
  std::unique_ptr<TfRecordWriter> records;
  tensorflow::Event scalar_event;    // reused by add_scalar: one Value whose tag and number change
  tensorflow::Event event;           // reused by images and histograms
  std::string serialized;            // reused serialisation buffer
  std::chrono::steady_clock::time_point last_flush;

  // Clears the reused image/histogram event and gives it one summary value named `tag` at `step`.
  tensorflow::Summary::Value* start_summary(const std::string& tag, int64_t step) {
    event.Clear();
    event.set_wall_time(unix_time_now());
    event.set_step(step);
    tensorflow::Summary::Value* v = event.mutable_summary()->add_value();
    v->set_tag(tag);
    return v;
  }

  void write(const tensorflow::Event& e) {
    e.SerializeToString(&serialized);
    records->write(serialized);
    auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - last_flush).count() >= kAutoFlushSeconds) {
      records->flush();
      last_flush = now;
    }
  }
};

EventWriter::EventWriter(const std::string& dir) : state_(std::make_unique<State>()) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error || !std::filesystem::is_directory(dir)) {
    throw DataError(DataError::Kind::kIo, dir, -1, -1,
                    "cannot create the TensorBoard log directory " + dir + ": " +
                        (error ? error.message() : std::string("not a directory")) +
                        "\nHINT: pass a --logdir (or run directory) you can write to.");
  }
  double wall_time = unix_time_now();
  std::string base = event_file_name(static_cast<int64_t>(wall_time), local_hostname());
  state_->path = unused_path(dir, base);
  state_->records = std::make_unique<TfRecordWriter>(state_->path);
  state_->last_flush = std::chrono::steady_clock::now();

  tensorflow::Event version;
  version.set_wall_time(wall_time);
  version.set_file_version(kFileVersion);
  state_->write(version);
  state_->records->flush();  // the file is readable (and recognisable) from the start

  state_->scalar_event.mutable_summary()->add_value();
}

EventWriter::~EventWriter() {
  try {
    state_->records->flush();
    state_->records->close();
  } catch (const std::exception& e) {
    std::cerr << "warning: " << e.what() << "\n";  // a destructor must not throw
  }
}

void EventWriter::add_scalar(const std::string& tag, int64_t step, float value) {
  tensorflow::Event& e = state_->scalar_event;
  e.set_wall_time(unix_time_now());
  e.set_step(step);
  tensorflow::Summary::Value* v = e.mutable_summary()->mutable_value(0);
  v->set_tag(tag);
  v->set_simple_value(value);
  state_->write(e);
}

void EventWriter::add_session_start(int64_t step) {
  tensorflow::Event e;
  e.set_wall_time(unix_time_now());
  e.set_step(step);
  e.mutable_session_log()->set_status(tensorflow::SessionLog::START);
  state_->write(e);
}

void EventWriter::add_image(const std::string& tag, int64_t step, const uint8_t* pixels, int height,
                            int width, int channels) {
  if (pixels == nullptr || height <= 0 || width <= 0 || !(channels == 1 || channels == 3 || channels == 4)) {
    throw std::invalid_argument("EventWriter::add_image(" + tag + "): got " + std::to_string(height) + "x" +
                                std::to_string(width) + "x" + std::to_string(channels) +
                                "\nHINT: pass a non-empty [height, width, channels] image with 1, 3 or 4 "
                                "channels.");
  }
  tensorflow::Summary::Image* image = state_->start_summary(tag, step)->mutable_image();
  image->set_height(height);
  image->set_width(width);
  image->set_colorspace(channels);
  image->set_encoded_image_string(encode_png(pixels, height, width, channels));
  state_->write(state_->event);
}

int64_t EventWriter::add_histogram(const std::string& tag, int64_t step, const float* values, int64_t count) {
  if (values == nullptr && count > 0) {
    throw std::invalid_argument("EventWriter::add_histogram(" + tag + "): null values with count " +
                                std::to_string(count) + "\nHINT: pass the host copy of the tensor.");
  }
  HistogramSummary hist = compute_histogram(values, count < 0 ? 0 : count);
  tensorflow::HistogramProto* histo = state_->start_summary(tag, step)->mutable_histo();
  histo->set_min(hist.min);
  histo->set_max(hist.max);
  histo->set_num(hist.num);
  histo->set_sum(hist.sum);
  histo->set_sum_squares(hist.sum_squares);
  histo->mutable_bucket_limit()->Add(hist.bucket_limit.begin(), hist.bucket_limit.end());
  histo->mutable_bucket()->Add(hist.bucket.begin(), hist.bucket.end());
  state_->write(state_->event);
  return hist.nonfinite;
}

void EventWriter::flush() {
  state_->records->flush();
  state_->last_flush = std::chrono::steady_clock::now();
}

const std::string& EventWriter::path() const { return state_->path; }

}  // namespace fcn
