// Tests of the input pipeline (io/loader.h): index and split, the shuffle-and-repeat order (against its exact
// distribution), batches in order whatever the thread count, seek/resume, the test stream, corrupted
// records, the decoded-sample cache and the staging ring. Exports are written by the test into temp dirs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <unistd.h>

#include "io/example.h"
#include "io/image_codec.h"
#include "io/loader.h"
#include "io/manifest.h"
#include "io/tfrecord.h"

namespace fcn {
namespace {

namespace fs = std::filesystem;

struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name) {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("fcn_loader_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// Pixel values that identify the record: image [h, w, 3], label [h, w] (0/1).
uint8_t pixel_value(int record, int y, int x, int c) { return uint8_t(record * 29 + y * 7 + x * 3 + c * 101); }

// Writes `files` .tfrecord files holding `records` records in total (export order = record number) and an
// export.json. Sizes vary with the record (3..7 x 4..9) so packing offsets differ; `uniform` keeps them 6x5.
std::string write_export(const fs::path& dir, int records, int files, bool uniform = false) {
  Manifest manifest;
  manifest.legend.push_back({"Model 3", 1});
  int record = 0;
  for (int f = 0; f < files; ++f) {
    std::string name = "part-";  // built step by step: GCC 12 -O3 warns (-Wrestrict) on a + b + c here
    name += std::to_string(f);
    name += ".tfrecord";
    manifest.tfrecord_paths.push_back(name);
    TfRecordWriter writer((dir / name).string());
    int end = (f + 1) * records / files;
    for (; record < end; ++record) {
      int h = uniform ? 6 : 3 + record % 5, w = uniform ? 5 : 4 + (record * 3) % 6;
      std::vector<uint8_t> rgb(size_t(h) * w * 3), label(size_t(h) * w);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          for (int c = 0; c < 3; ++c) rgb[(size_t(y) * w + x) * 3 + c] = pixel_value(record, y, x, c);
          label[size_t(y) * w + x] = uint8_t((x + y + record) % 2);
        }
      ExampleFields fields;
      fields.image_encoded = encode_png(rgb.data(), h, w, 3);
      fields.image_format = "png";
      fields.label_encoded = encode_png(label.data(), h, w, 1);
      fields.filename = "r" + std::to_string(record) + ".png";
      fields.id = "id-" + std::to_string(record);
      fields.height = h;
      fields.width = w;
      writer.write(encode_example(fields));
    }
    writer.close();
  }
  std::string path = (dir / "export.json").string();
  write_manifest(path, manifest);
  return path;
}

// Flips one byte in the middle of record `record`'s payload: its data CRC no longer matches.
void corrupt_record(const Manifest& manifest, const RecordRef& ref) {
  std::fstream file(manifest.tfrecord_paths[ref.file_index], std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(file.good());
  std::streamoff at = std::streamoff(ref.location.offset + 12 + ref.location.payload_length / 2);
  file.seekg(at);
  char byte = 0;
  file.read(&byte, 1);
  byte = char(byte ^ 0x5A);
  file.seekp(at);
  file.write(&byte, 1);
}

LoaderOptions small_options(int threads, uint64_t seed = 7) {
  LoaderOptions o;
  o.batch_size = 3;
  o.threads = threads;
  o.prefetch = 3;
  o.shuffle_buffer = 4;
  o.seed = seed;
  o.test_fraction = 0.2;
  return o;
}

// A batch as comparable values: record indices plus a hash of every packed byte.
struct BatchView {
  std::vector<int64_t> records;
  std::vector<std::string> ids;
  uint64_t hash = 0;
  int64_t sequence = 0;
  int epoch = 0;
  bool operator==(const BatchView& o) const {
    return records == o.records && ids == o.ids && hash == o.hash && sequence == o.sequence && epoch == o.epoch;
  }
};

BatchView view(const RawBatch& b) {
  BatchView v;
  v.sequence = b.sequence;
  v.epoch = b.epoch;
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < b.count; ++i) {
    const RawSampleInfo& info = b.info[size_t(i)];
    v.records.push_back(info.record_index);
    v.ids.push_back(info.id);
    size_t n = size_t(info.height) * info.width;
    for (size_t k = 0; k < 3 * n; ++k) h = (h ^ b.bytes[info.image_offset + k]) * 0x100000001b3ull;
    for (size_t k = 0; k < n; ++k) h = (h ^ b.bytes[info.label_offset + k]) * 0x100000001b3ull;
  }
  v.hash = h;
  return v;
}

std::vector<BatchView> take_train(Loader& loader, int batches) {
  std::vector<BatchView> out;
  for (int i = 0; i < batches; ++i) out.push_back(view(loader.next_train()));
  return out;
}

// Exact probability of every epoch order of shuffle(buffer) over `count` items, by enumerating the draws.
void exact_orders(std::vector<int64_t> buffer, int64_t next, int64_t count, std::vector<int64_t> prefix,
                  double p, std::map<std::vector<int64_t>, double>& out) {
  if (buffer.empty()) {
    out[prefix] += p;
    return;
  }
  for (size_t j = 0; j < buffer.size(); ++j) {
    std::vector<int64_t> b = buffer;
    std::vector<int64_t> seq = prefix;
    seq.push_back(b[j]);
    if (next < count) {
      b[j] = next;
      exact_orders(b, next + 1, count, seq, p / double(buffer.size()), out);
    } else {
      b.erase(b.begin() + std::ptrdiff_t(j));
      exact_orders(b, next, count, seq, p / double(buffer.size()), out);
    }
  }
}

}  // namespace

TEST_CASE("HostAllocator::malloc_allocator hands out writable memory", "[loader]") {
  HostAllocator a = HostAllocator::malloc_allocator();
  auto* p = static_cast<uint8_t*>(a.allocate(4096));
  REQUIRE(p != nullptr);
  p[0] = 1;
  p[4095] = 2;
  CHECK(p[0] + p[4095] == 3);
  a.release(p);
}

TEST_CASE("ShuffleStream: each epoch is a permutation, epochs never interleave, orders change", "[loader]") {
  const int64_t count = 23;
  ShuffleStream stream(count, 5, 42);
  std::vector<std::vector<int64_t>> epochs;
  for (int e = 0; e < 6; ++e) {
    std::vector<int64_t> order;
    for (int64_t i = 0; i < count; ++i) {
      CHECK(stream.epoch() == e);  // every item of epoch e comes before any of epoch e + 1
      order.push_back(stream.next());
    }
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < count; ++i) REQUIRE(sorted[size_t(i)] == i);
    epochs.push_back(order);
  }
  CHECK(stream.produced() == 6 * count);
  for (size_t e = 1; e < epochs.size(); ++e) CHECK(epochs[e] != epochs[e - 1]);
  // Buffer semantics: item k enters the buffer after k - buffer + 1 draws, so it cannot come out earlier.
  for (const auto& order : epochs)
    for (size_t pos = 0; pos < order.size(); ++pos) CHECK(order[pos] <= int64_t(pos) + 4);
}

TEST_CASE("ShuffleStream: same seed same stream, other seed other stream, skip == next", "[loader]") {
  ShuffleStream a(50, 10, 1), b(50, 10, 1), c(50, 10, 2), d(50, 10, 1);
  std::vector<int64_t> sa, sb, sc;
  for (int i = 0; i < 200; ++i) {
    sa.push_back(a.next());
    sb.push_back(b.next());
    sc.push_back(c.next());
  }
  CHECK(sa == sb);
  CHECK(sa != sc);
  d.skip(137);
  CHECK(d.produced() == 137);
  CHECK(d.epoch() == 2);
  for (int i = 137; i < 200; ++i) CHECK(d.next() == sa[size_t(i)]);
  ShuffleStream identity(7, 1, 9);  // a buffer of one cannot reorder anything
  for (int i = 0; i < 21; ++i) CHECK(identity.next() == i % 7);
}

TEST_CASE("ShuffleStream: epoch orders follow the exact shuffle-buffer distribution", "[loader]") {
  // Direct simulation: enumerate every sequence of uniform draws from the buffer (each draw is replaced
  // by the next item; at the end the buffer drains) and compare with the frequencies over many epochs.
  struct Case {
    int64_t count, buffer;
  };
  for (Case c : {Case{4, 2}, Case{5, 3}, Case{4, 4}}) {
    std::vector<int64_t> initial;
    for (int64_t i = 0; i < std::min(c.count, c.buffer); ++i) initial.push_back(i);
    std::map<std::vector<int64_t>, double> exact;
    exact_orders(initial, int64_t(initial.size()), c.count, {}, 1.0, exact);
    const int epochs = 40000;
    ShuffleStream stream(c.count, c.buffer, 2024);
    std::map<std::vector<int64_t>, int> seen;
    for (int e = 0; e < epochs; ++e) {
      std::vector<int64_t> order;
      for (int64_t i = 0; i < c.count; ++i) order.push_back(stream.next());
      ++seen[order];
    }
    for (const auto& [order, count] : seen) REQUIRE(exact.count(order) == 1);  // no impossible order
    for (const auto& [order, p] : exact) {
      // Binomial standard deviation of a frequency over `epochs` trials; 5 sigma keeps false alarms < 1e-6.
      double sigma = std::sqrt(p * (1 - p) / epochs);
      double freq = double(seen[order]) / epochs;
      INFO("count " << c.count << " buffer " << c.buffer << " p " << p << " freq " << freq);
      CHECK(std::fabs(freq - p) <= 5 * sigma + 1e-12);
    }
  }
}

TEST_CASE("index_export and read_sample: every record of every file, in export order", "[loader]") {
  ScratchDir dir("index");
  Manifest manifest = load_manifest(write_export(dir.path, 11, 3));
  std::vector<RecordRef> refs = index_export(manifest);
  REQUIRE(refs.size() == 11);
  for (size_t i = 0; i < refs.size(); ++i) {
    CHECK(refs[i].record_index == int64_t(i));
    CHECK(refs[i].file_index == (i < 3 ? 0 : (i < 7 ? 1 : 2)));  // files hold [0,3), [3,7), [7,11)
    Sample s = read_sample(manifest, refs[i], DecodeLimits{});
    CHECK(s.id == "id-" + std::to_string(i));
    CHECK(s.record_index == int64_t(i));
    REQUIRE(s.rgb.size() == size_t(s.height) * s.width * 3);
    CHECK(s.rgb[0] == pixel_value(int(i), 0, 0, 0));
    CHECK(s.rgb.back() == pixel_value(int(i), s.height - 1, s.width - 1, 2));
  }
  RecordRef bad = refs[0];
  bad.file_index = 9;
  CHECK_THROWS_AS(read_sample(manifest, bad, DecodeLimits{}), DataError);
}

TEST_CASE("Loader split: the first ceil(test_fraction * N) records are the test set", "[loader]") {
  ScratchDir dir("split");
  for (int n : {1, 5, 10, 11, 14}) {
    Manifest manifest = load_manifest(write_export(dir.path, n, 2));
    LoaderOptions o = small_options(1);
    Loader loader(manifest, o);
    int64_t expected_test = int64_t(std::ceil(0.2 * n));  // 1->1, 5->1, 10->2, 11->3, 14->3
    CHECK(loader.test_records() == expected_test);
    CHECK(loader.train_records() == n - expected_test);
    CHECK(loader.records().size() == size_t(n));
    if (n == 1) CHECK_THROWS_AS(loader.next_train(), DataError);  // nothing left to train on
  }
  Manifest manifest = load_manifest(write_export(dir.path, 10, 2));
  LoaderOptions none = small_options(1);
  none.test_fraction = 0.0;
  Loader all_train(manifest, none);
  CHECK(all_train.test_records() == 0);
  CHECK(all_train.next_test() == nullptr);
}

TEST_CASE("Loader train stream: the shuffle order, every record once per epoch, batches in sequence", "[loader]") {
  ScratchDir dir("epochs");
  Manifest manifest = load_manifest(write_export(dir.path, 10, 3));  // test: records 0-1, train: 2-9
  LoaderOptions o = small_options(2);
  Loader loader(manifest, o);
  const int64_t train = loader.train_records();
  REQUIRE(train == 8);
  ShuffleStream expected(train, o.shuffle_buffer, o.seed);
  std::vector<int64_t> stream;
  for (int b = 0; b < 16; ++b) {  // 48 samples = 6 epochs
    const RawBatch& batch = loader.next_train();
    REQUIRE(batch.count == 3);
    CHECK(batch.sequence == b);
    CHECK(batch.epoch == int(stream.size() / 8));
    for (int i = 0; i < batch.count; ++i) {
      const RawSampleInfo& info = batch.info[size_t(i)];
      stream.push_back(info.record_index);
      CHECK(info.record_index == 2 + expected.next());
      CHECK(info.id == "id-" + std::to_string(info.record_index));
      CHECK(info.image_offset % 64 == 0);
      CHECK(info.label_offset % 64 == 0);
      REQUIRE(info.label_offset + size_t(info.height) * info.width <= batch.used_bytes);
      int r = int(info.record_index);
      CHECK(batch.bytes[info.image_offset] == pixel_value(r, 0, 0, 0));
      CHECK(batch.bytes[info.image_offset + 3 * size_t(info.height) * info.width - 1] ==
            pixel_value(r, info.height - 1, info.width - 1, 2));
      CHECK(batch.bytes[info.label_offset + 1] == uint8_t((1 + r) % 2));
    }
    CHECK(loader.position().train_samples_produced == int64_t(stream.size()));
  }
  std::vector<std::vector<int64_t>> epochs;
  for (size_t e = 0; e < 6; ++e) {
    std::vector<int64_t> epoch(stream.begin() + std::ptrdiff_t(e * 8), stream.begin() + std::ptrdiff_t(e * 8 + 8));
    std::vector<int64_t> sorted = epoch;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<int64_t>{2, 3, 4, 5, 6, 7, 8, 9});  // exactly once, no test record
    epochs.push_back(epoch);
  }
  std::set<std::vector<int64_t>> distinct(epochs.begin(), epochs.end());
  CHECK(distinct.size() >= 5);  // orders change (two equal of 8! orders in 6 epochs is very unlikely)
}

TEST_CASE("Loader: identical batches for 1, 2 and 4 threads and across runs, and seeds differ", "[loader]") {
  ScratchDir dir("determinism");
  Manifest manifest = load_manifest(write_export(dir.path, 17, 4));
  std::vector<BatchView> reference;
  {
    Loader loader(manifest, small_options(1));
    reference = take_train(loader, 20);
  }
  for (int threads : {1, 2, 4}) {
    for (int prefetch : {1, 5}) {
      LoaderOptions o = small_options(threads);
      o.prefetch = prefetch;
      Loader loader(manifest, o);
      INFO("threads " << threads << " prefetch " << prefetch);
      CHECK(take_train(loader, 20) == reference);
    }
  }
  Loader other_seed(manifest, small_options(2, 8));
  CHECK(take_train(other_seed, 20) != reference);
}

TEST_CASE("Loader::seek resumes the exact stream, in a new loader or the same one", "[loader]") {
  ScratchDir dir("seek");
  Manifest manifest = load_manifest(write_export(dir.path, 13, 2));
  Loader a(manifest, small_options(2));
  std::vector<BatchView> first = take_train(a, 4);
  LoaderPosition pos = a.position();
  CHECK(pos.train_samples_produced == 12);
  std::vector<BatchView> rest = take_train(a, 9);

  Loader b(manifest, small_options(3));
  b.seek(pos);
  CHECK(take_train(b, 9) == rest);

  a.seek(pos);  // rewinding the same loader, with batches in flight, gives the same again
  CHECK(take_train(a, 9) == rest);
  a.seek(LoaderPosition{});
  CHECK(take_train(a, 4) == first);
}

TEST_CASE("Loader test stream: export order once, last batch partial, begin_test restarts", "[loader]") {
  ScratchDir dir("test_stream");
  Manifest manifest = load_manifest(write_export(dir.path, 34, 3));  // ceil(6.8) = 7 test records
  LoaderOptions o = small_options(2);
  Loader loader(manifest, o);
  REQUIRE(loader.test_records() == 7);
  loader.next_train();  // the streams are independent
  for (int pass = 0; pass < 2; ++pass) {
    loader.begin_test();
    std::vector<int> counts;
    std::vector<int64_t> records;
    while (const RawBatch* batch = loader.next_test()) {
      CHECK(batch->sequence == int64_t(counts.size()));
      counts.push_back(batch->count);
      for (int i = 0; i < batch->count; ++i) records.push_back(batch->info[size_t(i)].record_index);
    }
    CHECK(counts == std::vector<int>{3, 3, 1});
    CHECK(records == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6});
    CHECK(loader.next_test() == nullptr);  // stays done until begin_test
  }
}

TEST_CASE("Loader skip_corrupted: a bad record is skipped, counted, and the batches stay full and deterministic",
          "[loader]") {
  ScratchDir dir("corrupt");
  Manifest manifest = load_manifest(write_export(dir.path, 12, 2));  // test 0-2, train 3-11
  std::vector<RecordRef> refs = index_export(manifest);
  corrupt_record(manifest, refs[6]);  // a train record
  corrupt_record(manifest, refs[1]);  // a test record

  std::vector<BatchView> reference;
  for (int threads : {1, 2, 4}) {
    LoaderOptions o = small_options(threads);
    o.skip_corrupted = true;
    Loader loader(manifest, o);
    std::vector<BatchView> batches = take_train(loader, 16);  // 48 samples: 6 epochs of 8 good records
    std::vector<int64_t> stream;
    for (const BatchView& b : batches) {
      CHECK(b.records.size() == 3);
      stream.insert(stream.end(), b.records.begin(), b.records.end());
    }
    CHECK(std::count(stream.begin(), stream.end(), int64_t(6)) == 0);
    for (size_t e = 0; e < 6; ++e) {
      std::set<int64_t> epoch(stream.begin() + std::ptrdiff_t(e * 8), stream.begin() + std::ptrdiff_t(e * 8 + 8));
      CHECK(epoch == std::set<int64_t>{3, 4, 5, 7, 8, 9, 10, 11});
    }
    // Same positions as the stream without corruption, minus the bad record: the shuffle is untouched.
    // Each time the stream passed record 6 counts as one skip; the position counts skipped records too.
    ShuffleStream order(9, o.shuffle_buffer, o.seed);
    std::vector<int64_t> expected;
    int64_t positions = 0, skips = 0;
    while (expected.size() < stream.size()) {
      int64_t r = 3 + order.next();
      ++positions;
      if (r == 6) {
        ++skips;
      } else {
        expected.push_back(r);
      }
    }
    CHECK(stream == expected);
    CHECK(skips >= 5);
    CHECK(loader.skipped_records() == skips);
    CHECK(loader.position().train_samples_produced == positions);
    if (reference.empty()) reference = batches;
    CHECK(batches == reference);

    std::vector<int64_t> test_records;
    while (const RawBatch* batch = loader.next_test()) {
      for (int i = 0; i < batch->count; ++i) test_records.push_back(batch->info[size_t(i)].record_index);
    }
    CHECK(test_records == std::vector<int64_t>{0, 2});
    CHECK(loader.skipped_records() == skips + 1);  // the test stream's bad record counts too
  }
}

TEST_CASE("Loader skip budget: a train split whose every record fails stops at once, in bounded memory",
          "[loader]") {
  ScratchDir dir("all_bad");
  Manifest manifest = load_manifest(write_export(dir.path, 12, 2));  // test 0-2, train 3-11
  std::vector<RecordRef> refs = index_export(manifest);
  for (int r = 3; r < 12; ++r) corrupt_record(manifest, refs[size_t(r)]);
  for (double budget : {0.1, 1.0}) {  // all failed stops even when the budget allows every record
    for (int threads : {1, 3}) {
      INFO("budget " << budget << ", " << threads << " threads");
      LoaderOptions o = small_options(threads);
      o.skip_corrupted = true;
      o.max_skipped_fraction = budget;
      Loader loader(manifest, o);
      const auto start = std::chrono::steady_clock::now();
      std::string message;
      try {
        loader.next_train();
      } catch (const DataError& e) {
        message = e.what();
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      CHECK(seconds < 1.0);
      CHECK_THAT(message, Catch::Contains("of the 9 training records failed to read or decode"));
      CHECK_THAT(message, Catch::Contains("corrupted (a CRC mismatch)"));
      CHECK_THAT(message, Catch::Contains("the first failure:"));
      CHECK_THAT(message, Catch::Contains("HINT: check the export with `fcn inspect"));
      CHECK(loader.damaged_records() <= 9);
      CHECK_THROWS_AS(loader.next_train(), DataError);  // stays stopped
    }
  }
}

TEST_CASE("Loader skip budget: up to ceil(fraction * N) failed records of a split are skipped, one more stops",
          "[loader]") {
  ScratchDir dir("budget");
  Manifest manifest = load_manifest(write_export(dir.path, 12, 2));  // test 0-2, train 3-11
  std::vector<RecordRef> refs = index_export(manifest);
  corrupt_record(manifest, refs[5]);
  corrupt_record(manifest, refs[9]);
  // 2 of 9 train records fail: 0.1 allows ceil(0.9) = 1 (stops), 0.2 allows ceil(1.8) = 2 (trains on).
  for (double budget : {0.1, 0.2}) {
    INFO("budget " << budget);
    LoaderOptions o = small_options(2);
    o.skip_corrupted = true;
    o.max_skipped_fraction = budget;
    Loader loader(manifest, o);
    std::string message;
    try {
      take_train(loader, 12);  // 36 samples: both bad records come up
    } catch (const DataError& e) {
      message = e.what();
    }
    if (budget == 0.1) {
      CHECK_THAT(message, Catch::Contains("2 of the 9 training records failed to read or decode (22%), past the "
                                          "skip budget of 10% (--max-skipped 0.1)"));
      CHECK_THAT(message, Catch::Contains("or raise --max-skipped"));
    } else {
      CHECK(message.empty());
      CHECK(loader.damaged_records() == 2);
    }
  }
  LoaderOptions bad = small_options(1);
  bad.max_skipped_fraction = 1.5;
  CHECK_THROWS_AS(Loader(manifest, bad), std::invalid_argument);
}

TEST_CASE("Loader without skip_corrupted: the DataError reaches the caller of next_train / next_test", "[loader]") {
  ScratchDir dir("corrupt_throw");
  Manifest manifest = load_manifest(write_export(dir.path, 12, 2));
  std::vector<RecordRef> refs = index_export(manifest);
  corrupt_record(manifest, refs[6]);
  corrupt_record(manifest, refs[1]);
  for (int threads : {1, 3}) {
    Loader loader(manifest, small_options(threads));
    bool thrown = false;
    for (int b = 0; b < 6 && !thrown; ++b) {  // 18 samples > one epoch of 9: record 6 must come up
      try {
        loader.next_train();
      } catch (const DataError& e) {
        thrown = true;
        CHECK(e.record() == 6);
        CHECK(std::string(e.what()).find("HINT") != std::string::npos);
      }
    }
    CHECK(thrown);
    CHECK_THROWS_AS(loader.next_train(), DataError);  // the stream stays stopped at the error
    CHECK_THROWS_AS(loader.next_test(), DataError);   // test batch 0 holds record 1
    CHECK(loader.skipped_records() == 0);
  }
}

TEST_CASE("Loader decoded-sample cache: identical batches with the cache on, off or too small", "[loader]") {
  ScratchDir dir("cache");
  Manifest manifest = load_manifest(write_export(dir.path, 15, 3));
  Loader plain(manifest, small_options(2));
  std::vector<BatchView> reference = take_train(plain, 15);
  for (size_t budget : {size_t(1) << 30, size_t(600)}) {
    LoaderOptions o = small_options(3);
    o.cache_budget_bytes = budget;
    Loader cached(manifest, o);
    INFO("budget " << budget);
    CHECK(take_train(cached, 15) == reference);
    cached.begin_test();
    int test_samples = 0;
    while (const RawBatch* b = cached.next_test()) test_samples += b->count;
    CHECK(test_samples == 3);
  }
}

TEST_CASE("Loader staging ring: buffers come from the allocator hook and steady state allocates nothing",
          "[loader]") {
  ScratchDir dir("ring");
  Manifest manifest = load_manifest(write_export(dir.path, 10, 1, /*uniform=*/true));
  auto allocations = std::make_shared<std::atomic<int>>(0);
  auto live = std::make_shared<std::atomic<int>>(0);
  LoaderOptions o = small_options(2);
  o.prefetch = 2;
  o.allocator.allocate = [allocations, live](size_t n) {
    ++*allocations;
    ++*live;
    return std::malloc(n);
  };
  o.allocator.release = [live](void* p) {
    --*live;
    std::free(p);
  };
  {
    Loader loader(manifest, o);
    for (int b = 0; b < 45; ++b) loader.next_train();
    // prefetch + 1 train slots, each allocated once when first used (which slots get used first depends on
    // timing); same-sized images never make a buffer grow; the test stream's slots are never touched.
    CHECK(allocations->load() >= 1);
    CHECK(allocations->load() <= o.prefetch + 1);
  }
  CHECK(live->load() == 0);  // every staging buffer released
}

TEST_CASE("Loader destructor joins cleanly mid-stream and before any batch", "[loader]") {
  ScratchDir dir("shutdown");
  Manifest manifest = load_manifest(write_export(dir.path, 30, 2));
  for (int threads : {1, 4}) {
    { Loader untouched(manifest, small_options(threads)); }
    {
      Loader loader(manifest, small_options(threads));
      loader.next_train();
      loader.next_test();  // test workers started and busy too
    }
  }
  SUCCEED("no hang, no crash");
}

// ---- data parallel: each rank's slice of every global batch -------------------------------------------

TEST_CASE("batch_slice: contiguous slices in rank order, sizes differing by one at most", "[loader][dist]") {
  for (int global = 0; global <= 11; ++global) {
    for (int ranks = 1; ranks <= 5; ++ranks) {
      int next = 0;
      for (int r = 0; r < ranks; ++r) {
        const BatchSlice slice = batch_slice(global, r, ranks);
        CHECK(slice.begin == next);
        CHECK(slice.count() >= global / ranks);
        CHECK(slice.count() <= global / ranks + 1);
        CHECK((slice.count() == global / ranks + 1) == (r < global % ranks));  // the first ranks take more
        next = slice.end;
      }
      CHECK(next == global);
    }
  }
  CHECK(batch_slice(8, 2, 3).begin == 6);
  CHECK(batch_slice(8, 2, 3).end == 8);
  CHECK_THROWS_AS(batch_slice(8, 3, 3), std::invalid_argument);
  CHECK_THROWS_AS(batch_slice(8, 0, 0), std::invalid_argument);
}

namespace {

// The global batches a single loader hands out, against the concatenation of every rank's slices.
void require_slices_make_the_single_batches(const Manifest& manifest, LoaderOptions o, int ranks) {
  Loader single(manifest, o);
  std::vector<std::unique_ptr<Loader>> rank_loaders;
  for (int r = 0; r < ranks; ++r) {
    LoaderOptions sliced = o;
    sliced.slice_rank = r;
    sliced.slice_ranks = ranks;
    rank_loaders.push_back(std::make_unique<Loader>(manifest, sliced));
  }
  for (int step = 0; step < 10; ++step) {
    const RawBatch& whole = single.next_train();
    std::vector<int64_t> expected;
    for (int i = 0; i < whole.count; ++i) expected.push_back(whole.info[size_t(i)].record_index);
    std::vector<int64_t> joined;
    for (int r = 0; r < ranks; ++r) {
      const RawBatch& part = rank_loaders[size_t(r)]->next_train();
      CHECK(part.global_count == whole.count);
      CHECK(part.slice_begin == int(joined.size()));
      CHECK(part.count == batch_slice(whole.count, r, ranks).count());
      CHECK(part.sequence == whole.sequence);
      CHECK(part.epoch == whole.epoch);
      for (int i = 0; i < part.count; ++i) joined.push_back(part.info[size_t(i)].record_index);
      CHECK(rank_loaders[size_t(r)]->position().train_samples_produced == single.position().train_samples_produced);
    }
    CHECK(joined == expected);
  }
  // The test stream: every batch sliced alike, a rank's slice of the short last batch possibly empty.
  std::vector<int64_t> expected;
  while (const RawBatch* b = single.next_test()) {
    for (int i = 0; i < b->count; ++i) expected.push_back(b->info[size_t(i)].record_index);
  }
  std::vector<std::vector<int64_t>> per_rank_batches;  // [batch] the records of every rank, in rank order
  for (int r = 0; r < ranks; ++r) {
    size_t batch = 0;
    while (const RawBatch* b = rank_loaders[size_t(r)]->next_test()) {
      if (per_rank_batches.size() <= batch) per_rank_batches.emplace_back();
      for (int i = 0; i < b->count; ++i) per_rank_batches[batch].push_back(b->info[size_t(i)].record_index);
      ++batch;
    }
  }
  std::vector<int64_t> joined;
  for (const auto& b : per_rank_batches) joined.insert(joined.end(), b.begin(), b.end());
  CHECK(joined == expected);
}

}  // namespace

TEST_CASE("Loader slices: the ranks' slices of every batch join into the single process's batches",
          "[loader][dist]") {
  ScratchDir dir("slices");
  // 13 records: a test split of 3 (last test batch of 1 with batch 2: some ranks get nothing), and 10 train.
  Manifest manifest = load_manifest(write_export(dir.path, 13, 3));
  LoaderOptions o = small_options(2);
  for (int batch : {2, 3, 5}) {
    for (int ranks = 2; ranks <= std::min(batch, 3); ++ranks) {
      for (bool skip : {false, true}) {  // skip: every rank decodes the whole batch and keeps its slice
        INFO("batch " << batch << ", " << ranks << " ranks, skip_corrupted " << skip);
        o.batch_size = batch;
        o.skip_corrupted = skip;
        require_slices_make_the_single_batches(manifest, o, ranks);
      }
    }
  }
}

TEST_CASE("Loader slices with skip_corrupted: a bad record shifts every rank's slice alike", "[loader][dist]") {
  ScratchDir dir("slices_corrupt");
  Manifest manifest = load_manifest(write_export(dir.path, 12, 2));  // test 0-2, train 3-11
  std::vector<RecordRef> refs = index_export(manifest);
  corrupt_record(manifest, refs[6]);
  corrupt_record(manifest, refs[1]);
  LoaderOptions o = small_options(2);
  o.skip_corrupted = true;
  require_slices_make_the_single_batches(manifest, o, 2);
  require_slices_make_the_single_batches(manifest, o, 3);
}

TEST_CASE("Loader refuses a slice rank outside 0..slice_ranks-1", "[loader][dist]") {
  ScratchDir dir("slices_bad");
  Manifest manifest = load_manifest(write_export(dir.path, 6, 1));
  LoaderOptions o = small_options(1);
  o.slice_rank = 2;
  o.slice_ranks = 2;
  CHECK_THROWS_AS(Loader(manifest, o), std::invalid_argument);
}

TEST_CASE("Loader skip_corrupted: a file cut short keeps the records before the cut", "[loader]") {
  ScratchDir dir("cut");
  Manifest manifest = load_manifest(write_export(dir.path, 12, 2));  // file 0: records 0-5, file 1: 6-11
  std::vector<RecordRef> refs = index_export(manifest);
  // Cut file 1 inside record 9's header: records 6, 7, 8 stay whole.
  std::filesystem::resize_file(manifest.tfrecord_paths[1], refs[9].location.offset + 5);
  CHECK_THROWS_AS(index_export(manifest), DataError);
  CHECK_THROWS_AS(Loader(manifest, small_options(1)), DataError);

  std::vector<RecordRef> kept = index_export(manifest, /*skip_damage=*/true);
  REQUIRE(kept.size() == 9);
  CHECK(kept.back().location.offset == refs[8].location.offset);
  LoaderOptions o = small_options(2);
  o.skip_corrupted = true;
  Loader loader(manifest, o);
  CHECK(loader.train_records() + loader.test_records() == 9);
  std::set<int64_t> seen;
  for (const BatchView& b : take_train(loader, 6)) seen.insert(b.records.begin(), b.records.end());
  CHECK(*seen.rbegin() == 8);
}

}  // namespace fcn
