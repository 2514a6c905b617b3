// The input pipeline: index every record of the export, split off the test set (the first
// ceil(test_fraction * N) records), stream the rest through a seeded shuffle buffer with repeat, decode on
// worker threads into a ring of reusable staging buffers, and hand out RawBatch values in order.
//
// Determinism: the order of record indices is computed on the calling thread from the seed alone; workers
// only decode. So the same seed gives the same batches whatever the thread count, and a loader restored
// to a LoaderPosition continues the exact same stream.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/example.h"
#include "io/manifest.h"
#include "io/raw_batch.h"
#include "io/tfrecord.h"

namespace fcn {

// One record of the export: which file and where.
struct RecordRef {
  int file_index = 0;
  RecordLocation location;
  int64_t record_index = 0;  // position in export order
};

// Index all files of the manifest (headers only), in export order. skip_damage: a damaged header (a bad
// length CRC, a file cut short) ends that file's records with a warning on stderr instead of an error,
// keeping the records before it (what --skip-corrupted promises for a cut file).
std::vector<RecordRef> index_export(const Manifest& manifest, bool skip_damage = false);

// The tf.data shuffle(buffer).repeat() order over `count` items, as a resumable generator.
// Epoch k's items all come out before epoch k+1's; each epoch has a new order.
class ShuffleStream {
 public:
  ShuffleStream(int64_t count, int64_t buffer_size, uint64_t seed);
  int64_t next();                    // the next item (0..count-1)
  int64_t produced() const { return produced_; }
  int epoch() const;                 // epoch of the next item
  void skip(int64_t n);              // advance n items (used on resume)
 private:
  void refill_epoch();
  int64_t count_;
  int64_t buffer_size_;
  uint64_t seed_;
  int64_t produced_ = 0;
  int epoch_filled_ = 0;             // how many epochs have been fed into the buffer
  int64_t next_in_epoch_ = 0;        // next item of the current feeding epoch
  std::vector<int64_t> buffer_;
  std::vector<int> buffer_epoch_;
  uint64_t rng_state_ = 0;
};

struct LoaderOptions {
  int batch_size = 8;
  int threads = 2;                 // decode workers
  int prefetch = 4;                // staging buffers in the ring (batches in flight)
  int64_t shuffle_buffer = 50;
  uint64_t seed = 0;
  double test_fraction = 0.2;
  bool skip_corrupted = false;     // skip records that fail to read or decode, counting them
  // The skip budget (with skip_corrupted): once more than ceil(max_skipped_fraction * N) of a split's N
  // records have failed, or all of them, the stream stops with a DataError that counts the failures by
  // kind. Without it a split whose every record fails would be searched for a good record forever.
  double max_skipped_fraction = 0.1;
  DecodeLimits limits;
  HostAllocator allocator = HostAllocator::malloc_allocator();
  size_t cache_budget_bytes = 0;   // keep decoded samples in memory up to this many bytes (0: off)
  // Data parallel: every rank runs the same stream of global batches and receives only its slice of
  // each (batch_slice in io/raw_batch.h), decoding only that slice. With skip_corrupted, every rank
  // decodes the whole batch, so that all agree on which records a skip pulls in.
  int slice_rank = 0;
  int slice_ranks = 1;
};

// Where the train stream stands, for checkpoints: resuming from it continues the same sequence. It counts
// the global stream's samples, so it does not depend on the number of ranks.
struct LoaderPosition {
  int64_t train_samples_produced = 0;
};

class BatchQueue;  // internal: workers, ring and ordering

class Loader {
 public:
  Loader(const Manifest& manifest, const LoaderOptions& options);
  ~Loader();

  int64_t train_records() const;
  int64_t test_records() const;
  const std::vector<RecordRef>& records() const;

  // Train stream: endless. The returned batch stays valid until the next call to next_train.
  const RawBatch& next_train();
  LoaderPosition position() const;       // position after the last batch handed out
  void seek(const LoaderPosition& pos);  // restart the train stream at pos (drops batches in flight)

  // Test stream: the test records once, in export order, last batch partial. begin_test() restarts it.
  void begin_test();
  const RawBatch* next_test();           // nullptr when the pass is done; valid until the next call

  int64_t skipped_records() const;       // corrupted records skipped so far (skip_corrupted)
  int64_t damaged_records() const;       // distinct records found to fail so far, both splits

 private:
  std::unique_ptr<BatchQueue> train_;
  std::unique_ptr<BatchQueue> test_;
  Manifest manifest_;
  LoaderOptions options_;
  std::vector<RecordRef> records_;
  int64_t test_count_ = 0;
  LoaderPosition position_;
};

// Reads and decodes one record (used by the loader workers, fcn inspect and the tests).
Sample read_sample(const Manifest& manifest, const RecordRef& ref, const DecodeLimits& limits);

}  // namespace fcn
