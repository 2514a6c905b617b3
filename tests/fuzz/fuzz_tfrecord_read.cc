// Feeds any bytes, as a TFRecord file, to the full read: TfRecordReader::read_at on every record the
// index pass found, then the first record once more (a step back, which a compressed file serves by
// decompressing again from its start), then TfRecordReader::next from the start; each with the compression
// detected (kAuto) and forced to kNone, kGzip and kZlib.
// Asserts beyond "no crash": a failure is only a DataError whose message names the file; a payload read
// has the length the index gave; reading a record again gives the same bytes; and the sequential reader
// agrees with random access record by record (the same payload, or a failure for the same record) and
// ends cleanly right after the last indexed record.
#include <string>
#include <vector>

#include "io/tfrecord.h"
#include "tests/fuzz/harness.h"

namespace {

using fcn::DataError;
using fcn::RecordLocation;
using fcn::TfRecordCompression;
using fcn::TfRecordReader;
using fcn::fuzz::failure_of;
using fcn::fuzz::require;

// Sequential reads of a file the index pass refused: whatever happens must be a DataError. Stops at the end,
// or at an error the reader cannot step over (it stays where it was).
void read_sequentially(const std::string& path, TfRecordCompression compression) {
  std::optional<TfRecordReader> reader;
  if (failure_of<DataError>("TfRecordReader", path, [&] { reader.emplace(path, compression); })) return;
  std::string payload;
  for (;;) {
    const uint64_t before = reader->offset();
    bool more = false;
    const bool failed = failure_of<DataError>("TfRecordReader::next", path, [&] { more = reader->next(payload); })
                            .has_value();
    if ((!failed && !more) || (failed && reader->offset() == before)) return;
  }
}

void read_all(const std::string& path, TfRecordCompression compression) {
  const std::string mode = fcn::compression_name(compression);
  std::vector<RecordLocation> index;
  if (failure_of<DataError>("index_tfrecord", path, [&] { index = fcn::index_tfrecord(path, compression); })) {
    read_sequentially(path, compression);
    return;
  }
  std::optional<TfRecordReader> reader;
  if (failure_of<DataError>("TfRecordReader", path, [&] { reader.emplace(path, compression); })) {
    fcn::fuzz::finding("TfRecordReader (" + mode + ") refused a file index_tfrecord read");
  }
  std::vector<std::optional<std::string>> payloads(index.size());
  for (size_t i = 0; i < index.size(); ++i) {
    std::string payload;
    if (!failure_of<DataError>("TfRecordReader::read_at", path,
                               [&] { reader->read_at(index[i], int64_t(i), payload); })) {
      require(payload.size() == index[i].payload_length,
              "read_at (" + mode + "): record " + std::to_string(i) + " has " + std::to_string(payload.size()) +
                  " bytes, the index said " + std::to_string(index[i].payload_length));
      payloads[i] = std::move(payload);
    }
  }
  if (!index.empty() && payloads[0]) {
    std::string again;
    const bool failed =
        failure_of<DataError>("TfRecordReader::read_at", path, [&] { reader->read_at(index[0], 0, again); })
            .has_value();
    require(!failed && again == *payloads[0], "read_at (" + mode + "): record 0 read again differs");
  }

  TfRecordReader sequential(path, compression);
  std::string payload;
  for (size_t i = 0; i < index.size(); ++i) {
    bool more = false;
    const bool failed =
        failure_of<DataError>("TfRecordReader::next", path, [&] { more = sequential.next(payload); }).has_value();
    require(failed == !payloads[i].has_value(),
            "next (" + mode + "): record " + std::to_string(i) + (failed ? " fails" : " reads") +
                " sequentially but " + (failed ? "reads" : "fails") + " by index");
    require(failed || (more && payload == *payloads[i]),
            "next (" + mode + "): record " + std::to_string(i) + " differs from read_at's");
    require(sequential.offset() == index[i].offset + index[i].framed_size(),
            "next (" + mode + "): after record " + std::to_string(i) + " the reader is at " +
                std::to_string(sequential.offset()));
  }
  bool more = true;
  require(!failure_of<DataError>("TfRecordReader::next", path, [&] { more = sequential.next(payload); }) && !more,
          "next (" + mode + "): no clean end after the " + std::to_string(index.size()) + " indexed records");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fcn::fuzz::InputFile file(data, size);
  for (TfRecordCompression c : {TfRecordCompression::kAuto, TfRecordCompression::kNone, TfRecordCompression::kGzip,
                                TfRecordCompression::kZlib}) {
    read_all(file.path(), c);
  }
  return 0;
}
