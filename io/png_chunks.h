// A PNG's chunks, walked from the signature up to IEND before stb_image sees the file, for what stb does
// not check: a chunk's declared length against the bytes that follow it (stb reserves what an IDAT chunk
// claims before reading it, so a 134-byte file claiming 2 GB would make it allocate 2 GB), and an empty
// IDAT chunk before the image data (stb then copies zero bytes to a null buffer: undefined behaviour).
#pragma once
#include <cstddef>
#include <string>

namespace fcn {

// False with *error when a chunk declares more bytes than the file holds after it. Otherwise true, and
// when an empty IDAT chunk comes before any IDAT with data, *without_empty_idat receives the file without
// its empty IDAT chunks (the same image) for stb to decode; else it is left empty. Bytes that end between
// or inside chunk headers pass (stb reports what is missing).
bool check_png_chunks(const void* data, size_t size, std::string* without_empty_idat, std::string* error);

}  // namespace fcn
