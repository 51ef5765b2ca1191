// uuid_text (native/core/uuid_text.h): the portable and SSSE3 packings agree on every input the
// matcher can hand them, and pack/unpack round-trip.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>

#include "core/uuid_text.h"

namespace {

struct packed {
  bool ok;
  std::uint64_t words[2];
};

packed portable(const std::string& s) {
  packed p{false, {0, 0}};
  p.ok = vr::uuid_text::uuid_shape(s) && vr::uuid_text::pack_digits_portable(s.data(), p.words);
  return p;
}

// Each form in a buffer of exactly 36 bytes, so that ASan would catch a read past the text.
void check_forms_agree(const std::string& s) {
  const packed want = portable(s);
  std::string copy(s);
  packed got{false, {0, 0}};
  got.ok = vr::uuid_text::pack(copy, got.words);
  INFO(s);
  REQUIRE(got.ok == want.ok);
  if (want.ok) {
    CHECK(got.words[0] == want.words[0]);
    CHECK(got.words[1] == want.words[1]);
  }
#if VR_UUID_SSSE3
  if (vr::uuid_text::kHaveSsse3 && vr::uuid_text::uuid_shape(s)) {
    packed simd{false, {0, 0}};
    simd.ok = vr::uuid_text::pack_digits_ssse3(copy.data(), simd.words);
    REQUIRE(simd.ok == want.ok);
    if (want.ok) {
      CHECK(simd.words[0] == want.words[0]);
      CHECK(simd.words[1] == want.words[1]);
    }
  }
#endif
}

std::string random_uuid(std::mt19937_64& rng) {
  static const char digits[] = "0123456789abcdef";
  std::string s(36, '-');
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i != 8 && i != 13 && i != 18 && i != 23) s[i] = digits[rng() & 15];
  return s;
}

}  // namespace

TEST_CASE("uuid_text: the processor's packing is the one the tests compare", "[uuid]") {
#if VR_UUID_SSSE3
  CHECK(vr::uuid_text::kHaveSsse3 == static_cast<bool>(__builtin_cpu_supports("ssse3")));
#endif
  std::uint64_t words[2];
  REQUIRE(vr::uuid_text::pack("0123abcd-4567-89ef-fedc-ba9876543210", words));
  // Byte k: digit 2k in the low half, digit 2k + 1 in the high half.
  CHECK(words[0] == 0xfe987654dcba3210ull);
  CHECK(words[1] == 0x0123456789abcdefull);
}

TEST_CASE("uuid_text: pack and unpack round-trip, and both forms agree on random UUIDs", "[uuid]") {
  std::mt19937_64 rng(20261208);
  for (int i = 0; i < 20000; ++i) {
    const std::string s = random_uuid(rng);
    std::uint64_t words[2];
    REQUIRE(vr::uuid_text::pack(s, words));
    std::string back;
    vr::uuid_text::unpack(words, back);
    REQUIRE(back == s);
    check_forms_agree(s);
  }
}

TEST_CASE("uuid_text: every byte value at every position is judged alike by both forms", "[uuid]") {
  const std::string base = "0123abcd-4567-89ef-fedc-ba9876543210";
  for (std::size_t pos = 0; pos < base.size(); ++pos) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string s = base;
      s[pos] = static_cast<char>(byte);
      check_forms_agree(s);
      const bool hyphen_place = pos == 8 || pos == 13 || pos == 18 || pos == 23;
      const bool lower_hex = (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'f');
      std::uint64_t words[2];
      CHECK(vr::uuid_text::pack(s, words) == (hyphen_place ? byte == '-' : lower_hex));
    }
  }
  // Capitals, other lengths and other hyphen places are not lower-case UUIDs.
  std::uint64_t words[2];
  CHECK_FALSE(vr::uuid_text::pack("0123ABCD-4567-89ef-fedc-ba9876543210", words));
  CHECK_FALSE(vr::uuid_text::pack("0123abcd-4567-89ef-fedc-ba987654321", words));
  CHECK_FALSE(vr::uuid_text::pack("0123abcd-4567-89ef-fedc-ba98765432100", words));
  CHECK_FALSE(vr::uuid_text::pack("0123abcd4-567-89ef-fedc-ba9876543210", words));
  CHECK_FALSE(vr::uuid_text::pack("", words));
}
