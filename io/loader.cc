// The input pipeline (see io/loader.h and docs/DATA.md): index, split, the seeded shuffle-and-repeat
// order, and BatchQueue, which decodes batches on worker threads into a ring of reusable staging buffers
// and hands them out strictly in sequence order.
//
// How determinism survives threads and skipped records. A stream is a sequence of positions 0, 1, 2, ...
// each naming a record (the shuffle order for train, export order for test). Batch s covers the positions
// [start_s, end_s): the first batch_size records from start_s that decode. Workers are handed batches
// speculatively with start_{s+1} = planned_end_s, assuming no new corrupted record in batch s. When batch s
// finds one, it reads further positions, and every later batch (planned from the wrong start) is dropped
// and planned again. So the delivered batches depend only on the seed and the data, never on timing.
#include "io/loader.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace fcn {

// ---- PRNG: splitmix64, integer-only, identical on every platform ---------------------------------------
namespace {

uint64_t splitmix64_next(uint64_t& state) {
  state += 0x9E3779B97F4A7C15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, n) without modulo bias: reject the few values below 2^64 mod n.
uint64_t uniform_below(uint64_t& state, uint64_t n) {
  uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t r = splitmix64_next(state);
    if (r >= threshold) return r % n;
  }
}

constexpr size_t kStagingAlignment = 64;  // every image and label starts on a 64-byte boundary
size_t align_up(size_t n) { return (n + kStagingAlignment - 1) / kStagingAlignment * kStagingAlignment; }

}  // namespace

// ---- index, read ----------------------------------------------------------------------------------------

std::vector<RecordRef> index_export(const Manifest& manifest, bool skip_damage) {
  std::vector<RecordRef> records;
  for (size_t file = 0; file < manifest.tfrecord_paths.size(); ++file) {
    const std::string& path = manifest.tfrecord_paths[file];
    std::vector<RecordLocation> locations;
    if (skip_damage) {
      std::string damage;
      locations = index_tfrecord_before_damage(path, manifest.compression, &damage);
      if (!damage.empty()) {
        std::fprintf(stderr, "fcn: warning: using the %zu records of %s before its damage (skip_corrupted is on):\n%s\n",
                     locations.size(), path.c_str(), damage.c_str());
      }
    } else {
      locations = index_tfrecord(path, manifest.compression);
    }
    for (const RecordLocation& location : locations) {
      RecordRef ref;
      ref.file_index = static_cast<int>(file);
      ref.location = location;
      ref.record_index = static_cast<int64_t>(records.size());
      records.push_back(ref);
    }
  }
  return records;
}

namespace {

void check_file_index(const Manifest& manifest, const RecordRef& ref) {
  if (ref.file_index < 0 || static_cast<size_t>(ref.file_index) >= manifest.tfrecord_paths.size()) {
    throw DataError(DataError::Kind::kInvalid, manifest.source, ref.record_index,
                    static_cast<int64_t>(ref.location.offset),
                    "record refers to file #" + std::to_string(ref.file_index) + " but the manifest lists " +
                        std::to_string(manifest.tfrecord_paths.size()) +
                        " files\nHINT: build RecordRefs with index_export() on the same manifest");
  }
}

Sample read_with(TfRecordReader& reader, const RecordRef& ref, const DecodeLimits& limits,
                 std::string& payload) {
  reader.read_at(ref.location, ref.record_index, payload);
  ExampleContext where;
  where.file = reader.path();
  where.record_index = ref.record_index;
  where.offset = static_cast<int64_t>(ref.location.offset);
  Sample sample = decode_example(payload, where, limits);
  sample.record_index = ref.record_index;
  return sample;
}

}  // namespace

Sample read_sample(const Manifest& manifest, const RecordRef& ref, const DecodeLimits& limits) {
  check_file_index(manifest, ref);
  TfRecordReader reader(manifest.tfrecord_paths[ref.file_index], manifest.compression);
  std::string payload;
  return read_with(reader, ref, limits, payload);
}

// ---- ShuffleStream ---------------------------------------------------------------------------------------

ShuffleStream::ShuffleStream(int64_t count, int64_t buffer_size, uint64_t seed)
    : count_(count), buffer_size_(std::max<int64_t>(buffer_size, 1)), seed_(seed), rng_state_(seed) {
  if (count < 0) throw std::invalid_argument("ShuffleStream: negative item count");
}

void ShuffleStream::refill_epoch() {
  buffer_.clear();
  buffer_epoch_.clear();
  next_in_epoch_ = 0;
  int64_t fill = std::min(buffer_size_, count_);
  for (int64_t i = 0; i < fill; ++i) {
    buffer_.push_back(next_in_epoch_++);
    buffer_epoch_.push_back(epoch_filled_);
  }
  ++epoch_filled_;
}

int64_t ShuffleStream::next() {
  if (count_ == 0) throw std::logic_error("ShuffleStream::next on an empty stream (count 0)");
  if (buffer_.empty()) refill_epoch();
  size_t pick = static_cast<size_t>(uniform_below(rng_state_, buffer_.size()));
  int64_t item = buffer_[pick];
  if (next_in_epoch_ < count_) {  // the next element of this epoch takes the drawn one's place
    buffer_[pick] = next_in_epoch_++;
    buffer_epoch_[pick] = epoch_filled_ - 1;
  } else {  // the epoch's input is exhausted: the buffer drains
    buffer_[pick] = buffer_.back();
    buffer_epoch_[pick] = buffer_epoch_.back();
    buffer_.pop_back();
    buffer_epoch_.pop_back();
  }
  ++produced_;
  return item;
}

int ShuffleStream::epoch() const { return buffer_.empty() ? epoch_filled_ : buffer_epoch_.front(); }

void ShuffleStream::skip(int64_t n) {
  for (int64_t i = 0; i < n; ++i) next();
}

// ---- shared state: records, cache, corrupted records ---------------------------------------------------

namespace {

// What failed in one split (skip_corrupted): distinct records, by DataError kind, for the skip budget.
struct SplitDamage {
  int64_t records = 0;                 // the split's size
  int64_t failed = 0;                  // distinct records that failed
  int64_t by_kind[5] = {0, 0, 0, 0, 0};  // indexed by DataError::Kind
  std::string first_error;             // the first failure's message, for the budget error
};

const char* kind_text(int kind) {
  switch (static_cast<DataError::Kind>(kind)) {
    case DataError::Kind::kCorrupted: return "corrupted (a CRC mismatch)";
    case DataError::Kind::kTruncated: return "truncated";
    case DataError::Kind::kInvalid: return "invalid (not a decodable Example or image)";
    case DataError::Kind::kUnsupported: return "in an unsupported format";
    case DataError::Kind::kIo: return "unreadable (an I/O error)";
  }
  return "failed";
}

struct LoaderShared {
  Manifest manifest;
  std::vector<RecordRef> records;
  LoaderOptions options;
  int64_t test_count = 0;  // records [0, test_count) are the test split, the rest the train split

  std::mutex cache_mutex;
  std::unordered_map<int64_t, std::shared_ptr<const Sample>> cache;  // record index -> decoded sample
  size_t cache_bytes = 0;

  std::mutex bad_mutex;
  std::unordered_map<int64_t, std::string> bad_records;  // records known to fail -> their error message
  std::unordered_set<int64_t> reported;                   // records already reported on stderr
  SplitDamage damage[2];                                  // [0] test split, [1] train split
  std::atomic<int64_t> skipped{0};

  bool known_bad(int64_t record) {
    std::lock_guard<std::mutex> lock(bad_mutex);
    return bad_records.count(record) != 0;
  }
  void mark_bad(int64_t record, const DataError& error) {
    std::lock_guard<std::mutex> lock(bad_mutex);
    if (!bad_records.emplace(record, error.what()).second) return;
    SplitDamage& d = damage[record < test_count ? 0 : 1];
    if (d.failed++ == 0) d.first_error = error.what();
    ++d.by_kind[static_cast<int>(error.kind())];
  }
  // Whether the split's failures have passed the skip budget (see LoaderOptions::max_skipped_fraction).
  bool over_budget(int split) {
    std::lock_guard<std::mutex> lock(bad_mutex);
    const SplitDamage& d = damage[split];
    const double allowed = std::ceil(options.max_skipped_fraction * static_cast<double>(d.records));
    return d.failed > 0 && (d.failed >= d.records || static_cast<double>(d.failed) > allowed);
  }
  // The error that stops a split over its budget: how many failed, of what kind, and the first failure.
  DataError budget_error(int split) {
    std::lock_guard<std::mutex> lock(bad_mutex);
    const SplitDamage& d = damage[split];
    const char* name = split == 0 ? "test" : "training";
    char head[256];
    std::snprintf(head, sizeof head,
                  "%lld of the %lld %s records failed to read or decode (%.0f%%), past the skip budget of %g%% "
                  "(--max-skipped %g):",
                  static_cast<long long>(d.failed), static_cast<long long>(d.records), name,
                  100.0 * static_cast<double>(d.failed) / static_cast<double>(std::max<int64_t>(d.records, 1)),
                  100.0 * options.max_skipped_fraction, options.max_skipped_fraction);
    std::string message = head;
    for (int kind = 0; kind < 5; ++kind) {
      if (d.by_kind[kind] == 0) continue;
      message += "\n  " + std::to_string(d.by_kind[kind]) + " " + kind_text(kind);
    }
    std::string first = d.first_error.substr(0, d.first_error.find("\nHINT"));
    message += "\nthe first failure: " + first;
    message += "\nHINT: check the export with `fcn inspect " + manifest.source + "`";
    if (d.failed < d.records) message += ", or raise --max-skipped if this much damage is expected";
    return DataError(DataError::Kind::kInvalid, manifest.source, -1, -1, message);
  }
  // Prints the record's error once per loader (called on the consumer thread, in delivery order).
  void report(int64_t record) {
    std::string message;
    {
      std::lock_guard<std::mutex> lock(bad_mutex);
      if (!reported.insert(record).second) return;
      auto it = bad_records.find(record);
      if (it != bad_records.end()) message = it->second;
    }
    std::fprintf(stderr, "fcn: warning: skipping record %lld (skip_corrupted is on):\n%s\n",
                 static_cast<long long>(record), message.c_str());
  }

  std::shared_ptr<const Sample> find_cached(int64_t record) {
    if (options.cache_budget_bytes == 0) return nullptr;
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(record);
    return it == cache.end() ? nullptr : it->second;
  }
  void offer_cache(const std::shared_ptr<const Sample>& sample) {
    if (options.cache_budget_bytes == 0) return;
    size_t bytes = sample->rgb.size() + sample->label.size() + sizeof(Sample) + sample->id.size();
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache_bytes + bytes > options.cache_budget_bytes) return;  // full: first come, kept
    if (cache.emplace(sample->record_index, sample).second) cache_bytes += bytes;
  }
};

struct StreamItem {
  int64_t position = 0;
  int64_t record = 0;  // index into records (export order)
  int epoch = 0;
};

}  // namespace

// ---- BatchQueue -------------------------------------------------------------------------------------------

class BatchQueue {
 public:
  // endless: the train stream (shuffle + repeat over `count` records from first_record);
  // otherwise the records first_record .. first_record + count - 1 once, in order.
  BatchQueue(std::shared_ptr<LoaderShared> shared, int64_t first_record, int64_t count, bool endless)
      : shared_(std::move(shared)), first_record_(first_record), count_(count), endless_(endless),
        split_(endless ? 1 : 0) {
    const LoaderOptions& o = shared_->options;
    batch_size_ = std::max(o.batch_size, 1);
    slots_.resize(static_cast<size_t>(std::max(o.prefetch, 1) + 1));  // in flight + the one handed out
    for (Slot& slot : slots_) slot.batch.info.resize(static_cast<size_t>(batch_size_));
  }

  ~BatchQueue() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    for (Slot& slot : slots_) {
      if (slot.batch.bytes != nullptr) shared_->options.allocator.release(slot.batch.bytes);
    }
  }

  bool started() const { return !workers_.empty(); }

  // Drops everything in flight and continues the stream at `position`; starts the workers the first time.
  void restart(int64_t position) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (Slot& slot : slots_) {
        if (slot.state == Slot::kFilling) slot.stale = true;
        if (slot.state == Slot::kReady) slot.state = Slot::kFree;
      }
      failed_ = nullptr;
      finished_ = false;
      end_assigned_ = false;
      next_deliver_ = next_assign_seq_ = position / batch_size_;
      next_assign_start_ = position;
      delivered_end_ = position;
      if (endless_) {
        shuffle_ = std::make_unique<ShuffleStream>(count_, shared_->options.shuffle_buffer,
                                                   shared_->options.seed);
        shuffle_->skip(position);
        order_.clear();
        order_base_ = position;
      }
    }
    if (workers_.empty()) {
      int threads = std::max(shared_->options.threads, 1);
      for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
    }
    work_cv_.notify_all();
  }

  // The next batch in sequence order; nullptr when a finite stream is done. Rethrows a worker's error.
  const RawBatch* next() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (held_ != nullptr) {
      held_->state = Slot::kFree;
      held_ = nullptr;
      work_cv_.notify_all();
    }
    if (failed_) std::rethrow_exception(failed_);
    if (finished_) return nullptr;
    Slot* slot = nullptr;
    ready_cv_.wait(lock, [&] {
      for (Slot& s : slots_) {
        if (s.state == Slot::kReady && s.batch.sequence == next_deliver_) {
          slot = &s;
          return true;
        }
      }
      return false;
    });
    if (slot->error) {
      failed_ = slot->error;  // sticky: the stream stops here until restart()
      slot->state = Slot::kFree;
      work_cv_.notify_all();
      std::rethrow_exception(failed_);
    }
    ++next_deliver_;
    delivered_end_ = slot->actual_end;
    trim_order();
    shared_->skipped += slot->skipped;
    for (int64_t record : slot->skip_records) shared_->report(record);
    if (slot->batch.global_count == 0) {  // end of a finite stream
      finished_ = true;
      slot->state = Slot::kFree;
      work_cv_.notify_all();
      return nullptr;
    }
    slot->state = Slot::kHeld;
    held_ = slot;
    return &slot->batch;
  }

  int64_t position() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return delivered_end_;
  }

  int64_t skipped_total() const { return shared_->skipped.load(); }  // both streams share the counter
  int64_t damaged_total() const {
    std::lock_guard<std::mutex> lock(shared_->bad_mutex);
    return static_cast<int64_t>(shared_->bad_records.size());
  }

 private:
  struct Slot {
    enum State { kFree, kFilling, kReady, kHeld };
    State state = kFree;
    bool stale = false;  // dropped while a worker fills it: its result is thrown away
    RawBatch batch;
    int64_t start = 0;
    int64_t planned_end = 0;  // where the next batch was planned to start
    int64_t actual_end = 0;
    std::vector<StreamItem> plan;
    int64_t skipped = 0;
    std::vector<int64_t> skip_records;  // [skipped] the records skipped, in stream order
    std::exception_ptr error;
  };

  // Per-worker state, reused for every batch so steady state allocates nothing here.
  struct WorkerState {
    std::unique_ptr<TfRecordReader> reader;
    int reader_file = -1;
    std::string payload;
    std::vector<std::shared_ptr<const Sample>> samples;
    std::vector<int> sample_epochs;
  };

  // The item at a stream position (locked). False past the end of a finite stream.
  bool item_at(int64_t position, StreamItem* item) {
    item->position = position;
    if (!endless_) {
      if (position >= count_) return false;
      item->record = first_record_ + position;
      item->epoch = 0;
      return true;
    }
    if (position < order_base_) throw std::logic_error("BatchQueue: stream position already trimmed");
    while (order_base_ + static_cast<int64_t>(order_.size()) <= position) {
      StreamItem next;
      next.position = order_base_ + static_cast<int64_t>(order_.size());
      next.epoch = shuffle_->epoch();
      next.record = first_record_ + shuffle_->next();
      order_.push_back(next);
    }
    *item = order_[static_cast<size_t>(position - order_base_)];
    return true;
  }

  void trim_order() {
    if (!endless_) return;
    int64_t keep_from = std::min(delivered_end_, next_assign_start_);
    while (!order_.empty() && order_base_ < keep_from) {
      order_.pop_front();
      ++order_base_;
    }
  }

  bool can_assign() const {
    if (failed_ || end_assigned_) return false;
    for (const Slot& s : slots_) {
      if (s.state == Slot::kFree) return true;
    }
    return false;
  }

  void worker_loop() {
    WorkerState ws;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      work_cv_.wait(lock, [&] { return stop_ || can_assign(); });
      if (stop_) return;
      Slot* slot = nullptr;
      for (Slot& s : slots_) {
        if (s.state == Slot::kFree) {
          slot = &s;
          break;
        }
      }
      assign(*slot);
      lock.unlock();
      fill(*slot, ws);
      lock.lock();
      complete(*slot);
    }
  }

  // Plans the next batch (locked): the first batch_size positions from the start not known to be bad.
  void assign(Slot& slot) {
    slot.state = Slot::kFilling;
    slot.stale = false;
    slot.error = nullptr;
    slot.skipped = 0;
    slot.skip_records.clear();
    slot.plan.clear();
    slot.batch.sequence = next_assign_seq_++;
    slot.start = next_assign_start_;
    int64_t position = slot.start;
    StreamItem item;
    while (static_cast<int>(slot.plan.size()) < batch_size_ && item_at(position, &item)) {
      ++position;
      if (shared_->options.skip_corrupted && shared_->known_bad(item.record)) {
        ++slot.skipped;
        slot.skip_records.push_back(item.record);
        if (shared_->over_budget(split_)) break;  // fill() reports it; below the budget a good record exists
        continue;
      }
      slot.plan.push_back(item);
    }
    slot.planned_end = position;
    next_assign_start_ = position;
    if (slot.plan.empty() && !endless_) end_assigned_ = true;  // this slot carries the end of the stream
  }

  std::shared_ptr<const Sample> load(int64_t record, WorkerState& ws) {
    if (auto cached = shared_->find_cached(record)) return cached;
    const RecordRef& ref = shared_->records[static_cast<size_t>(record)];
    check_file_index(shared_->manifest, ref);
    if (ws.reader_file != ref.file_index) {
      ws.reader.reset();
      ws.reader_file = -1;
      ws.reader = std::make_unique<TfRecordReader>(shared_->manifest.tfrecord_paths[ref.file_index],
                                                   shared_->manifest.compression);
      ws.reader_file = ref.file_index;
    }
    auto sample =
        std::make_shared<const Sample>(read_with(*ws.reader, ref, shared_->options.limits, ws.payload));
    shared_->offer_cache(sample);
    return sample;
  }

  // Decodes the planned records (unlocked), reading further positions when one turns out corrupted,
  // then packs the samples into the slot's staging buffer.
  void fill(Slot& slot, WorkerState& ws) {
    ws.samples.clear();
    ws.sample_epochs.clear();
    const LoaderOptions& o = shared_->options;
    if (o.slice_ranks > 1 && !o.skip_corrupted) {
      fill_slice(slot, ws);
      return;
    }
    int64_t end = slot.planned_end;
    size_t next_planned = 0;
    while (static_cast<int>(ws.samples.size()) < batch_size_) {
      if (o.skip_corrupted && shared_->over_budget(split_)) {
        slot.error = std::make_exception_ptr(shared_->budget_error(split_));
        return;
      }
      StreamItem item;
      if (next_planned < slot.plan.size()) {
        item = slot.plan[next_planned++];
      } else {  // a record of the plan failed: extend the batch with the following positions
        std::lock_guard<std::mutex> lock(mutex_);
        if (slot.stale || stop_) return;
        if (!item_at(end, &item)) break;
        ++end;
        if (shared_->known_bad(item.record)) {
          ++slot.skipped;
          slot.skip_records.push_back(item.record);
          continue;
        }
      }
      try {
        ws.samples.push_back(load(item.record, ws));
        ws.sample_epochs.push_back(item.epoch);
      } catch (const DataError& e) {
        if (!shared_->options.skip_corrupted) {
          slot.error = std::current_exception();
          return;
        }
        shared_->mark_bad(item.record, e);
        ++slot.skipped;
        slot.skip_records.push_back(item.record);
        ws.reader.reset();  // the reader's position is unknown after a failure
        ws.reader_file = -1;
      } catch (...) {
        slot.error = std::current_exception();
        return;
      }
    }
    slot.actual_end = end;
    // Data parallel with skipping: the whole batch was decoded (so every rank extends it alike); keep
    // this rank's slice.
    const int global_count = static_cast<int>(ws.samples.size());
    const BatchSlice slice = batch_slice(global_count, o.slice_rank, o.slice_ranks);
    pack(slot, ws, slice.begin, slice.end, slice.begin, global_count);
    ws.samples.clear();  // drop references (cached samples stay in the cache)
  }

  // Data parallel without skipping: a failed record is an error, so the batch is the plan and only this
  // rank's slice of it needs decoding.
  void fill_slice(Slot& slot, WorkerState& ws) {
    const LoaderOptions& o = shared_->options;
    const int global_count = static_cast<int>(slot.plan.size());
    const BatchSlice slice = batch_slice(global_count, o.slice_rank, o.slice_ranks);
    for (int i = slice.begin; i < slice.end; ++i) {
      try {
        ws.samples.push_back(load(slot.plan[size_t(i)].record, ws));
        ws.sample_epochs.push_back(slot.plan[size_t(i)].epoch);
      } catch (...) {
        slot.error = std::current_exception();
        return;
      }
    }
    slot.actual_end = slot.planned_end;
    pack(slot, ws, 0, static_cast<int>(ws.samples.size()), slice.begin, global_count);
    slot.batch.epoch = slot.plan.empty() ? 0 : slot.plan.front().epoch;  // the global batch's first sample
    ws.samples.clear();
  }

  // Packs ws.samples[begin, end), which is [slice_begin, ...) of a global batch of global_count, into
  // the slot's staging buffer; a worker's error is kept in the slot.
  void pack(Slot& slot, WorkerState& ws, int begin, int end, int slice_begin, int global_count) {
    try {
      pack_samples(slot.batch, ws, begin, end);
      slot.batch.global_count = global_count;
      slot.batch.slice_begin = slice_begin;
    } catch (...) {
      slot.error = std::current_exception();
    }
  }

  void pack_samples(RawBatch& batch, WorkerState& ws, int begin, int end) {
    size_t needed = 0;
    for (int i = begin; i < end; ++i) {
      needed += align_up(ws.samples[size_t(i)]->rgb.size()) + align_up(ws.samples[size_t(i)]->label.size());
    }
    if (needed > batch.capacity_bytes) {  // grow geometrically so a few large images settle the size
      size_t capacity = std::max(needed, batch.capacity_bytes * 2);
      void* memory = shared_->options.allocator.allocate(capacity);
      if (memory == nullptr) throw std::bad_alloc();
      if (batch.bytes != nullptr) shared_->options.allocator.release(batch.bytes);
      batch.bytes = static_cast<uint8_t*>(memory);
      batch.capacity_bytes = capacity;
    }
    size_t offset = 0;
    batch.count = end - begin;
    batch.epoch = ws.sample_epochs.empty() ? 0 : ws.sample_epochs.front();
    for (int i = begin; i < end; ++i) {
      const Sample& s = *ws.samples[size_t(i)];
      RawSampleInfo& info = batch.info[size_t(i - begin)];
      info.height = s.height;
      info.width = s.width;
      info.record_index = s.record_index;
      info.id = s.id;
      info.image_offset = offset;
      if (!s.rgb.empty()) std::memcpy(batch.bytes + offset, s.rgb.data(), s.rgb.size());
      offset += align_up(s.rgb.size());
      info.label_offset = offset;
      if (!s.label.empty()) std::memcpy(batch.bytes + offset, s.label.data(), s.label.size());
      offset += align_up(s.label.size());
    }
    batch.used_bytes = offset;
  }

  // Publishes a filled slot (locked). A batch that ended elsewhere than planned invalidates later ones.
  void complete(Slot& slot) {
    if (slot.stale || stop_) {
      slot.state = Slot::kFree;
      slot.stale = false;
      work_cv_.notify_all();
      return;
    }
    if (!slot.error && slot.actual_end != slot.planned_end) {
      for (Slot& other : slots_) {
        if (&other == &slot || other.batch.sequence <= slot.batch.sequence) continue;
        if (other.state == Slot::kFilling) other.stale = true;
        if (other.state == Slot::kReady) other.state = Slot::kFree;
      }
      next_assign_seq_ = slot.batch.sequence + 1;
      next_assign_start_ = slot.actual_end;
      end_assigned_ = false;
      if (slot.batch.global_count == 0 && !endless_) end_assigned_ = true;
    }
    slot.state = Slot::kReady;
    ready_cv_.notify_all();
    work_cv_.notify_all();
  }

  std::shared_ptr<LoaderShared> shared_;
  int64_t first_record_;
  int64_t count_;
  bool endless_;
  int split_;  // index into LoaderShared::damage: 0 test, 1 train
  int batch_size_ = 1;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;   // workers: a slot is free or stop
  std::condition_variable ready_cv_;  // consumer: a batch is ready
  std::vector<Slot> slots_;
  std::vector<std::thread> workers_;
  bool stop_ = false;

  std::unique_ptr<ShuffleStream> shuffle_;
  std::deque<StreamItem> order_;  // stream positions order_base_ .. (endless only)
  int64_t order_base_ = 0;

  int64_t next_assign_seq_ = 0;
  int64_t next_assign_start_ = 0;
  bool end_assigned_ = false;
  int64_t next_deliver_ = 0;
  int64_t delivered_end_ = 0;
  Slot* held_ = nullptr;
  std::exception_ptr failed_;
  bool finished_ = false;
};

// ---- Loader ---------------------------------------------------------------------------------------------

namespace {

// ceil(test_fraction * N) in double, exactly as the seed's Python computes math.ceil(0.2 * N).
int64_t test_split_size(double test_fraction, int64_t total) {
  if (!(test_fraction >= 0.0) || test_fraction > 1.0) {
    throw std::invalid_argument("test_fraction must be in [0, 1], got " + std::to_string(test_fraction));
  }
  int64_t n = static_cast<int64_t>(std::ceil(test_fraction * static_cast<double>(total)));
  return std::clamp<int64_t>(n, 0, total);
}

// Keeps the destructor order safe for BatchQueue's shared state.
std::shared_ptr<LoaderShared> make_shared_state(const Manifest& manifest, const LoaderOptions& options,
                                                const std::vector<RecordRef>& records, int64_t test_count) {
  auto shared = std::make_shared<LoaderShared>();
  shared->manifest = manifest;
  shared->options = options;
  shared->records = records;
  shared->test_count = test_count;
  shared->damage[0].records = test_count;
  shared->damage[1].records = static_cast<int64_t>(records.size()) - test_count;
  return shared;
}

}  // namespace

Loader::Loader(const Manifest& manifest, const LoaderOptions& options)
    : manifest_(manifest), options_(options) {
  if (options_.batch_size < 1) throw std::invalid_argument("LoaderOptions::batch_size must be >= 1");
  if (options_.slice_ranks < 1 || options_.slice_rank < 0 || options_.slice_rank >= options_.slice_ranks) {
    throw std::invalid_argument("LoaderOptions: slice_rank " + std::to_string(options_.slice_rank) + " of " +
                                std::to_string(options_.slice_ranks));
  }
  if (!(options_.max_skipped_fraction >= 0.0 && options_.max_skipped_fraction <= 1.0)) {
    throw std::invalid_argument("LoaderOptions::max_skipped_fraction must be in [0, 1], got " +
                                std::to_string(options_.max_skipped_fraction));
  }
  if (!options_.allocator.allocate || !options_.allocator.release) {
    throw std::invalid_argument("LoaderOptions::allocator needs both allocate and release");
  }
  records_ = index_export(manifest_, options_.skip_corrupted);
  test_count_ = test_split_size(options_.test_fraction, static_cast<int64_t>(records_.size()));
  auto shared = make_shared_state(manifest_, options_, records_, test_count_);
  int64_t train_count = static_cast<int64_t>(records_.size()) - test_count_;
  train_ = std::make_unique<BatchQueue>(shared, test_count_, train_count, /*endless=*/true);
  test_ = std::make_unique<BatchQueue>(shared, 0, test_count_, /*endless=*/false);
  if (train_count > 0) train_->restart(0);
}

Loader::~Loader() = default;  // each BatchQueue stops and joins its workers

int64_t Loader::train_records() const { return static_cast<int64_t>(records_.size()) - test_count_; }
int64_t Loader::test_records() const { return test_count_; }
const std::vector<RecordRef>& Loader::records() const { return records_; }

const RawBatch& Loader::next_train() {
  if (train_records() == 0) {
    throw DataError(DataError::Kind::kInvalid, manifest_.source, -1, -1,
                    "no training records: the export holds " + std::to_string(records_.size()) +
                        " records and the test split takes " + std::to_string(test_count_) +
                        "\nHINT: add records to the export or lower the test fraction");
  }
  const RawBatch* batch = train_->next();
  position_.train_samples_produced = train_->position();
  return *batch;
}

LoaderPosition Loader::position() const { return position_; }

void Loader::seek(const LoaderPosition& pos) {
  if (pos.train_samples_produced < 0) throw std::invalid_argument("LoaderPosition is negative");
  position_ = pos;
  if (train_records() > 0) train_->restart(pos.train_samples_produced);
}

void Loader::begin_test() { test_->restart(0); }

const RawBatch* Loader::next_test() {
  if (!test_->started()) test_->restart(0);
  return test_->next();
}

int64_t Loader::skipped_records() const {
  return train_->skipped_total();
}

int64_t Loader::damaged_records() const { return train_->damaged_total(); }

}  // namespace fcn
