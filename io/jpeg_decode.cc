// libjpeg-turbo behind decode_jpeg / read_jpeg_header: a memory source that never invents data, an
// error manager that longjmps back with the message, a progress hook that bounds the scan count.
// Nothing with a destructor lives in a frame that a longjmp crosses: all state is in a Session owned by
// the caller of the one function that calls setjmp.
#include "io/jpeg_decode.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>

#include <jerror.h>
#include <jpeglib.h>

namespace fcn {
namespace {

struct Session {
  jpeg_decompress_struct cinfo{};  // zeroed: jpeg_destroy_decompress is safe even if creating it failed
  jpeg_error_mgr errors{};
  jpeg_source_mgr source{};
  jpeg_progress_mgr progress{};
  std::jmp_buf jump;
  bool ran_out = false;  // the decoder asked for bytes past the end of the data
  char message[JMSG_LENGTH_MAX + 64] = {};
};

Session* session_of(j_common_ptr cinfo) { return static_cast<Session*>(cinfo->client_data); }

[[noreturn]] void on_error(j_common_ptr cinfo) {
  Session* s = session_of(cinfo);
  (*cinfo->err->format_message)(cinfo, s->message);
  std::longjmp(s->jump, 1);
}

// Warnings (level -1) and trace messages: counted by libjpeg in num_warnings, never printed.
void on_message(j_common_ptr cinfo, int level) {
  if (level < 0) cinfo->err->num_warnings++;
}

void source_init(j_decompress_ptr) {}
void source_term(j_decompress_ptr) {}

// All the data was handed over at the start: asking for more means the file is cut short.
boolean source_fill(j_decompress_ptr cinfo) {
  session_of(reinterpret_cast<j_common_ptr>(cinfo))->ran_out = true;
  ERREXIT(cinfo, JERR_INPUT_EOF);
  return FALSE;
}

void source_skip(j_decompress_ptr cinfo, long count) {
  if (count <= 0) return;
  jpeg_source_mgr* src = cinfo->src;
  if (size_t(count) > src->bytes_in_buffer) {
    session_of(reinterpret_cast<j_common_ptr>(cinfo))->ran_out = true;
    ERREXIT(cinfo, JERR_INPUT_EOF);
  }
  src->next_input_byte += count;
  src->bytes_in_buffer -= size_t(count);
}

void on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  const auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    Session* s = session_of(cinfo);
    std::snprintf(s->message, sizeof(s->message), "more than %d scans (a progressive JPEG has about 10)",
                  kMaxJpegScans);
    std::longjmp(s->jump, 1);
  }
}

// Sets up the session over `data` and reads the header. Call inside the setjmp scope.
void begin(Session* s, const void* data, size_t size) {
  s->cinfo.err = jpeg_std_error(&s->errors);
  s->errors.error_exit = on_error;
  s->errors.emit_message = on_message;
  s->cinfo.client_data = s;
  jpeg_create_decompress(&s->cinfo);
  s->source.next_input_byte = static_cast<const JOCTET*>(data);
  s->source.bytes_in_buffer = size;
  s->source.init_source = source_init;
  s->source.fill_input_buffer = source_fill;
  s->source.skip_input_data = source_skip;
  s->source.resync_to_restart = jpeg_resync_to_restart;
  s->source.term_source = source_term;
  s->cinfo.src = &s->source;
  s->progress.progress_monitor = on_progress;
  s->cinfo.progress = &s->progress;
  jpeg_read_header(&s->cinfo, TRUE);
}

std::string failure(const Session& s, const char* stage) {
  if (s.ran_out) {
    return std::string(stage) + ": the data ends before the image is complete (a cut or truncated file?)";
  }
  return std::string(stage) + ": " + s.message;
}

// TensorFlow's CMYK to RGB: Adobe writes inverted CMYK, so with its marker the product is taken as is.
void cmyk_row_to_rgb(const JSAMPLE* cmyk, uint8_t* rgb, JDIMENSION width, bool adobe) {
  for (JDIMENSION x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    const int c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
    if (adobe) {
      rgb[0] = uint8_t(k * c / 255);
      rgb[1] = uint8_t(k * m / 255);
      rgb[2] = uint8_t(k * y / 255);
    } else {
      rgb[0] = uint8_t((255 - k) * (255 - c) / 255);
      rgb[1] = uint8_t((255 - k) * (255 - m) / 255);
      rgb[2] = uint8_t((255 - k) * (255 - y) / 255);
    }
  }
}

// The decode proper. Returns an empty string on success, else the message. `s` and `out` are owned by
// the caller, so a longjmp back here leaves nothing undestroyed.
std::string run_decode(Session* s, const void* data, size_t size, int channels, int64_t max_pixels,
                       DecodedImage* out) {
  if (setjmp(s->jump) != 0) {
    jpeg_destroy_decompress(&s->cinfo);
    return failure(*s, "cannot decode JPEG");
  }
  begin(s, data, size);
  jpeg_decompress_struct& c = s->cinfo;
  const bool cmyk = c.jpeg_color_space == JCS_CMYK || c.jpeg_color_space == JCS_YCCK;
  c.out_color_space = channels == 1 ? JCS_GRAYSCALE : (cmyk ? JCS_CMYK : JCS_RGB);
  c.dct_method = JDCT_IFAST;
  c.do_fancy_upsampling = TRUE;
  c.scale_num = 1;
  c.scale_denom = 1;
  jpeg_calc_output_dimensions(&c);
  const int64_t pixels = int64_t(c.output_width) * int64_t(c.output_height);
  if (c.output_width == 0 || c.output_height == 0) {
    jpeg_destroy_decompress(&c);
    return "JPEG with an empty size";
  }
  if (pixels > max_pixels) {
    const std::string message = "JPEG of " + std::to_string(c.output_width) + "x" +
                                std::to_string(c.output_height) + " = " + std::to_string(pixels) +
                                " pixels, over the pixel limit of " + std::to_string(max_pixels) + " pixels";
    jpeg_destroy_decompress(&c);
    return message;
  }
  const size_t row_bytes = size_t(c.output_width) * size_t(channels);
  try {
    out->pixels.assign(row_bytes * size_t(c.output_height), 0);
  } catch (const std::bad_alloc&) {
    jpeg_destroy_decompress(&c);
    return "out of memory for a " + std::to_string(c.output_width) + "x" + std::to_string(c.output_height) +
           " JPEG";
  }
  jpeg_start_decompress(&c);
  if (c.output_components != (c.out_color_space == JCS_CMYK ? 4 : channels)) {
    jpeg_destroy_decompress(&c);
    return "cannot decode JPEG: libjpeg gives " + std::to_string(c.output_components) + " components";
  }
  // A CMYK row goes through a buffer of libjpeg's own pool (freed with the decompressor).
  JSAMPARRAY cmyk_row = c.out_color_space == JCS_CMYK
                            ? (*c.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&c), JPOOL_IMAGE,
                                                     c.output_width * 4, 1)
                            : nullptr;
  while (c.output_scanline < c.output_height) {
    uint8_t* row = out->pixels.data() + size_t(c.output_scanline) * row_bytes;
    if (cmyk_row != nullptr) {
      jpeg_read_scanlines(&c, cmyk_row, 1);
      cmyk_row_to_rgb(cmyk_row[0], row, c.output_width, c.saw_Adobe_marker != 0);
    } else {
      JSAMPROW rows[1] = {row};
      jpeg_read_scanlines(&c, rows, 1);
    }
  }
  out->width = int(c.output_width);
  out->height = int(c.output_height);
  out->channels = channels;
  out->source_channels = c.num_components;
  jpeg_finish_decompress(&c);
  jpeg_destroy_decompress(&c);
  return "";
}

std::string run_header(Session* s, const void* data, size_t size, JpegHeader* header) {
  if (setjmp(s->jump) != 0) {
    jpeg_destroy_decompress(&s->cinfo);
    return failure(*s, "unreadable JPEG header");
  }
  begin(s, data, size);
  header->width = int(s->cinfo.image_width);
  header->height = int(s->cinfo.image_height);
  header->components = s->cinfo.num_components;
  jpeg_destroy_decompress(&s->cinfo);
  return "";
}

}  // namespace

bool read_jpeg_header(const void* data, size_t size, JpegHeader* header, std::string* error) {
  Session session;
  const std::string message = run_header(&session, data, size, header);
  if (!message.empty() && error != nullptr) *error = message;
  return message.empty();
}

bool decode_jpeg(const void* data, size_t size, int channels, int64_t max_pixels, DecodedImage* out,
                 std::string* error) {
  if (channels != 1 && channels != 3) {
    if (error != nullptr) *error = "decode_jpeg: channels must be 1 or 3";
    return false;
  }
  Session session;
  const std::string message = run_decode(&session, data, size, channels, max_pixels, out);
  if (!message.empty()) {
    out->pixels.clear();
    if (error != nullptr) *error = message;
  }
  return message.empty();
}

}  // namespace fcn
