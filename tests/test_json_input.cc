// [io][json] The shared limits on untrusted JSON: depth, numbers past double's range, short messages.
#include <catch2/catch.hpp>

#include <string>

#include "io/json_input.h"

using namespace fcn;

TEST_CASE("parse_json_input accepts nesting up to the limit and refuses one level more", "[io][json]") {
  auto nested = [](int depth) { return std::string(size_t(depth), '[') + std::string(size_t(depth), ']'); };
  CHECK(parse_json_input<nlohmann::json>(nested(kMaxJsonDepth)).is_array());
  CHECK_THROWS_AS(parse_json_input<nlohmann::json>(nested(kMaxJsonDepth + 1)), JsonInputError);
  CHECK_THROWS_WITH(parse_json_input<nlohmann::ordered_json>("{\"a\":" + nested(100000) + "}"),
                    Catch::Contains("nested deeper than 64 levels"));
}

TEST_CASE("parse_json_input turns the library's errors into JsonInputError with the byte", "[io][json]") {
  try {
    parse_json_input<nlohmann::json>(std::string("{\"a\": #}"));
    FAIL("parsed");
  } catch (const JsonInputError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("not valid JSON"));
    CHECK(e.byte() == 6);  // the '#'
  }
  CHECK_THROWS_WITH(parse_json_input<nlohmann::json>(std::string("[1e400]")), Catch::Contains("a number out of range"));
  // The message quotes the input only briefly, however long the bad token.
  try {
    parse_json_input<nlohmann::json>("[\"" + std::string(100000, 'x'));
    FAIL("parsed");
  } catch (const JsonInputError& e) {
    CHECK(std::string(e.what()).size() < 300);
  }
  // The caller's callback still sees every event (here it drops a key).
  nlohmann::json::parser_callback_t drop_b = [](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    return !(event == nlohmann::json::parse_event_t::key && parsed == "b");
  };
  const nlohmann::json kept = parse_json_input<nlohmann::json>(std::string(R"({"a":1,"b":2})"), drop_b);
  CHECK(kept.size() == 1);
  CHECK(kept.contains("a"));
}

TEST_CASE("describe_json_value and shortened_json_message keep messages short", "[io][json]") {
  CHECK(describe_json_value(nlohmann::json(1.5)) == "1.5");
  CHECK(describe_json_value(nlohmann::json(nullptr)) == "null");
  CHECK(describe_json_value(nlohmann::json("car")) == "\"car\"");
  CHECK(describe_json_value(nlohmann::json(std::string(1000, 'y'))) == "\"" + std::string(40, 'y') + "\"...");
  CHECK(describe_json_value(nlohmann::json::array({1, 2, 3})) == "an array of 3 values");
  CHECK(describe_json_value(nlohmann::ordered_json::object()) == "an object of 0 keys");
  CHECK(shortened_json_message("short") == "short");
  CHECK(shortened_json_message(std::string(500, 'z'), 10) == std::string(10, 'z') + "...");
}
