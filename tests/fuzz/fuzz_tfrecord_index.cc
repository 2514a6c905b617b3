// Feeds any bytes, as a TFRecord file, to the index pass (index_tfrecord) four times: with the compression
// detected from the first bytes (kAuto) and forced to kNone, kGzip and kZlib.
// Asserts beyond "no crash": a failure is only a DataError whose message and file() name the file; the
// records found follow each other without gap from byte 0 (a plain file's last one ends at the file's
// end); and kAuto does exactly what forcing the compression detect_tfrecord_compression picks does: the
// same records, or an error of the same kind at the same record and offset.
#include <string>
#include <vector>

#include "io/tfrecord.h"
#include "tests/fuzz/harness.h"

namespace {

using fcn::DataError;
using fcn::RecordLocation;
using fcn::TfRecordCompression;
using fcn::fuzz::require;

struct IndexOutcome {
  std::vector<RecordLocation> records;
  std::optional<DataError> error;
};

IndexOutcome index_as(const std::string& path, TfRecordCompression compression, uint64_t file_size) {
  IndexOutcome out;
  out.error = fcn::fuzz::failure_of<DataError>("index_tfrecord", path, [&] {
    out.records = fcn::index_tfrecord(path, compression);
  });
  const std::string mode = fcn::compression_name(compression);
  if (out.error) {
    require(out.error->file() == path, "index_tfrecord (" + mode + "): DataError::file() is " + out.error->file());
    return out;
  }
  uint64_t next = 0;
  for (const RecordLocation& r : out.records) {
    require(r.offset == next, "index_tfrecord (" + mode + "): a record at " + std::to_string(r.offset) +
                                  " where the previous one ended at " + std::to_string(next));
    next = r.offset + r.framed_size();
  }
  if (compression == TfRecordCompression::kNone) {
    require(next == file_size, "index_tfrecord (none): the records end at " + std::to_string(next) +
                                   ", the file at " + std::to_string(file_size));
  }
  return out;
}

bool same_records(const std::vector<RecordLocation>& a, const std::vector<RecordLocation>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].offset != b[i].offset || a[i].payload_length != b[i].payload_length) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fcn::fuzz::InputFile file(data, size);
  const IndexOutcome automatic = index_as(file.path(), TfRecordCompression::kAuto, size);
  const TfRecordCompression detected = fcn::detect_tfrecord_compression(data, size < 12 ? size : 12);
  std::optional<IndexOutcome> same_as_auto;
  for (TfRecordCompression forced : {TfRecordCompression::kNone, TfRecordCompression::kGzip, TfRecordCompression::kZlib}) {
    IndexOutcome outcome = index_as(file.path(), forced, size);
    if (forced == detected) same_as_auto = std::move(outcome);
  }
  const std::string which = std::string("auto and forced ") + fcn::compression_name(detected);
  require(automatic.error.has_value() == same_as_auto->error.has_value(), which + ": one fails, the other not");
  if (automatic.error) {
    const DataError& a = *automatic.error;
    const DataError& f = *same_as_auto->error;
    require(a.kind() == f.kind() && a.record() == f.record() && a.offset() == f.offset(),
            which + " fail differently: " + a.what() + " | " + f.what());
  } else {
    require(same_records(automatic.records, same_as_auto->records), which + " find different records");
  }
  return 0;
}
