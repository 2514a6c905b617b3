// How a TFRecord file's byte stream is stored: plain, or wrapped whole in GZIP or ZLIB (tf.data's
// TFRecordDataset(compression_type="GZIP" / "ZLIB")). Nothing in the file says so; kAuto looks at its first
// bytes (see detect_tfrecord_compression), the other values force one reading.
#pragma once
#include <cstddef>
#include <string>

namespace fcn {

enum class TfRecordCompression {
  kAuto,  // decide from the first bytes: a valid plain header, else the gzip magic, else a zlib header
  kNone,  // plain TFRecord framing
  kGzip,  // gzip (RFC 1952), one member or several concatenated, as tf.io.TFRecordWriter "GZIP" writes
  kZlib,  // zlib (RFC 1950), one stream, as tf.io.TFRecordWriter "ZLIB" writes
};

// "auto", "none", "gzip", "zlib": the spelling a command-line option uses.
const char* compression_name(TfRecordCompression compression);
// Reads one of those names, case-insensitive (so tf.data's "GZIP" and "ZLIB" work as well). False, leaving
// *out alone, for anything else.
bool parse_tfrecord_compression(const std::string& text, TfRecordCompression* out);

// From the first bytes of a file (up to 12 are looked at; fewer when the file is shorter) returns kNone,
// kGzip or kZlib, never kAuto:
//   - 12 bytes whose last 4 are the masked CRC-32C of the first 8: a plain TFRecord header, kNone. (A
//     plain file whose first record is 35615 bytes long starts with 1f 8b too; the CRC tells them apart.)
//   - 1f 8b: the gzip magic, kGzip.
//   - a zlib header: CM = 8 (deflate), CINFO <= 7, no preset dictionary, (CMF * 256 + FLG) % 31 == 0, kZlib.
//   - anything else: kNone (the reader then reports what is wrong with the first header).
TfRecordCompression detect_tfrecord_compression(const void* head, size_t size);

}  // namespace fcn
