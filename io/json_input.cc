// The message shortening of io/json_input.h (the parsing itself is a template in the header).
#include "io/json_input.h"

namespace fcn {

std::string shortened_json_message(const std::string& message, size_t limit) {
  if (message.size() <= limit) return message;
  return message.substr(0, limit) + "...";
}

}  // namespace fcn
