// The element texts of Natterbox `response` frames (native/core/natterbox_elements.cpp). Also built
// into the scalar test binary, so that the portable string walk is tested on x86-64 too.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "core/natterbox_cti.h"

TEST_CASE("natterbox response element texts: slices of the frame, minified when the minifier agrees", "[natterbox]") {
  std::vector<vr::element_text> out;
  const std::string frame =
      R"({"type":"response","data":[{"userId":7,"presence":"RINGING"}, {"userId": 8},{"a":"x\"y"},{"n":1.5},)"
      R"({"n":-0},{"n":-12},{"n":1234567890123456789},{"n":123456789012345678},{"n":1e3},[true,null,false],)"
      R"("s",42,{"u":"é","l":[{}]}]})";
  REQUIRE(vr::response_element_texts(frame, out));
  const std::vector<std::pair<std::string, bool>> expected = {
      {R"({"userId":7,"presence":"RINGING"})", true},
      {R"({"userId": 8})", false},               // whitespace
      {R"({"a":"x\"y"})", false},                // an escape
      {R"({"n":1.5})", false},                   // a fraction
      {R"({"n":-0})", false},                    // -0 prints as 0
      {R"({"n":-12})", true},
      {R"({"n":1234567890123456789})", false},   // 19 digits
      {R"({"n":123456789012345678})", true},
      {R"({"n":1e3})", false},                   // an exponent
      {R"([true,null,false])", true},
      {R"("s")", true},
      {R"(42)", true},
      {R"({"u":"é","l":[{}]})", true},
  };
  REQUIRE(out.size() == expected.size());
  simdjson::dom::parser parser;
  for (std::size_t i = 0; i < out.size(); ++i) {
    CHECK(std::string(out[i].text) == expected[i].first);
    CHECK(out[i].minified == expected[i].second);
    // What the flag promises: the minifier gives the very same bytes.
    if (out[i].minified) CHECK(simdjson::minify(parser.parse(std::string(out[i].text))) == out[i].text);
  }

  // The first top-level "data", wherever it is; keys before it skipped with their values.
  REQUIRE(vr::response_element_texts(R"( { "x" : {"data":[1]} , "data" : [ ] , "data":[2]} )", out));
  CHECK(out.empty());
  REQUIRE(vr::response_element_texts(R"({"x":[1,{"y":"]"}],"data":[ 3 , {"k":"v"} ]})", out));
  REQUIRE(out.size() == 2);
  CHECK(out[0].text == "3");
  CHECK(out[1].text == R"({"k":"v"})");
  // An escaped key before data could itself be "data": no answer.
  CHECK_FALSE(vr::response_element_texts(R"({"d\u0061ta":[1],"data":[2]})", out));
  CHECK_FALSE(vr::response_element_texts(R"({"type":"response","data":{}})", out));
  CHECK_FALSE(vr::response_element_texts(R"({"type":"response"})", out));
  CHECK_FALSE(vr::response_element_texts(R"([1])", out));
  // Cut short (never the case for a frame the parser accepted): no read past the end.
  CHECK_FALSE(vr::response_element_texts(R"({"data":[{"a":"bc)", out));
  CHECK_FALSE(vr::response_element_texts(R"({"data":[{"a":1)", out));
}

TEST_CASE("natterbox response element texts: strings of every length around the block sizes", "[natterbox]") {
  std::vector<vr::element_text> out;
  simdjson::dom::parser parser;
  for (std::size_t n = 0; n < 40; ++n) {
    for (const char* tail : {"", "\\n", "\\\"", "\\u00e9"}) {
      const std::string s = std::string(n, 'x') + tail + std::string(n % 5, 'y');
      const std::string element = "{\"s\":\"" + s + "\",\"n\":" + std::to_string(n) + "}";
      const std::string frame = "{\"data\":[" + element + "," + element + "]}";
      REQUIRE(vr::response_element_texts(frame, out));
      REQUIRE(out.size() == 2);
      CHECK(out[0].text == element);
      CHECK(out[1].text == element);
      CHECK(out[0].minified == (*tail == 0));
      if (out[0].minified) CHECK(simdjson::minify(parser.parse(element)) == element);
      // Cut anywhere inside the string: false, and nothing read past the cut.
      const std::size_t quote = frame.find(":\"") + 2;  // just inside the string
      const std::string cut = frame.substr(0, quote + n / 2);
      std::vector<char> exact(cut.begin(), cut.end());
      CHECK_FALSE(vr::response_element_texts(std::string_view(exact.data(), exact.size()), out));
    }
  }
}
