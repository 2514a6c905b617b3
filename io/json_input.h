// Untrusted JSON (export.json, a safetensors header, checkpoint metadata) parsed with the limits every
// reader here shares, so that no input can crash a reader or leak a library's exception to the user:
//   - nesting at most kMaxJsonDepth levels (a 100,000-deep array would otherwise be parsed, and anything
//     recursive over it, such as dump(), overflows the stack);
//   - a number past double's range (1e400) is an error, not nlohmann's out_of_range.406;
//   - messages quote at most a few dozen characters of the input (describe_json_value, never dump()).
// Callers turn JsonInputError into their own error, naming their file.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace fcn {

constexpr int kMaxJsonDepth = 64;

// What went wrong and where: byte is the offset into the parsed text (-1 when unknown).
class JsonInputError : public std::runtime_error {
 public:
  JsonInputError(const std::string& problem, int64_t byte) : std::runtime_error(problem), byte_(byte) {}
  int64_t byte() const { return byte_; }

 private:
  int64_t byte_;
};

// The message of a library exception, cut to `limit` characters (it may quote the input).
std::string shortened_json_message(const std::string& message, size_t limit = 160);

// Parses [begin, end) as JSON (nlohmann::json or nlohmann::ordered_json). `extra`, when given, sees every
// parse event as nlohmann's parser callbacks do (return false to drop a value). Throws JsonInputError.
template <class Json>
Json parse_json_input(const char* begin, const char* end, typename Json::parser_callback_t extra = nullptr) {
  typename Json::parser_callback_t limited = [&extra](int depth, typename Json::parse_event_t event, Json& parsed) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      throw JsonInputError("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels", -1);
    }
    return extra ? extra(depth, event, parsed) : true;
  };
  try {
    return Json::parse(begin, end, limited);
  } catch (const typename Json::parse_error& e) {
    throw JsonInputError("not valid JSON (" + shortened_json_message(e.what()) + ")",
                         e.byte > 0 ? int64_t(e.byte) - 1 : 0);
  } catch (const typename Json::out_of_range& e) {  // 406: a number past double's range
    throw JsonInputError("a number out of range (" + shortened_json_message(e.what()) + ")", -1);
  } catch (const typename Json::exception& e) {
    throw JsonInputError("not valid JSON (" + shortened_json_message(e.what()) + ")", -1);
  }
}

template <class Json>
Json parse_json_input(const std::string& text, typename Json::parser_callback_t extra = nullptr) {
  return parse_json_input<Json>(text.data(), text.data() + text.size(), std::move(extra));
}

// A short, non-recursive description of a value for messages: numbers, booleans and null as written,
// strings quoted and cut to 40 characters, arrays and objects by their size ("an array of 3 values").
template <class Json>
std::string describe_json_value(const Json& value) {
  if (value.is_array()) return "an array of " + std::to_string(value.size()) + " values";
  if (value.is_object()) return "an object of " + std::to_string(value.size()) + " keys";
  if (value.is_string()) {
    const std::string& text = value.template get_ref<const std::string&>();
    return text.size() <= 40 ? Json(text).dump() : Json(text.substr(0, 40)).dump() + "...";
  }
  return value.dump();  // a scalar: short
}

}  // namespace fcn
