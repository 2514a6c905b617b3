// Helpers for the compressed-TFRecord tests: GZIP and ZLIB bytes made with zlib's deflate, as
// tf.io.TFRecordWriter's GZIP and ZLIB options write them (one member / one stream).
#pragma once
#include <zlib.h>

#include <stdexcept>
#include <string>

namespace fcn::test {

enum class Wrapper { kGzip, kZlib };

inline std::string deflate_bytes(const std::string& data, Wrapper wrapper, int level = 6) {
  z_stream z{};
  const int window_bits = wrapper == Wrapper::kGzip ? MAX_WBITS + 16 : MAX_WBITS;
  if (deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&z, uLong(data.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  const int status = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (status != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

inline std::string gzip_bytes(const std::string& data) { return deflate_bytes(data, Wrapper::kGzip); }
inline std::string zlib_bytes(const std::string& data) { return deflate_bytes(data, Wrapper::kZlib); }

}  // namespace fcn::test
