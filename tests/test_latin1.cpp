// latin1.hpp against a byte-at-a-time reference, at every length and offset
// around the 16-byte steps of the SIMD kernels and across their block edges.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "text/latin1.hpp"

namespace {

using pkl::detail::latin1_to_utf8;
using pkl::detail::latin1_utf8_size;
using pkl::detail::utf8_to_latin1;

std::string widen_ref(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string random_bytes(std::mt19937& rng, size_t n, int high_percent) {
  std::string s(n, '\0');
  for (auto& c : s) {
    const bool high = static_cast<int>(rng() % 100) < high_percent;
    c = static_cast<char>(high ? 0x80 + rng() % 0x80 : rng() % 0x80);
  }
  return s;
}

TEST(Latin1, KnownValues) {
  EXPECT_EQ(latin1_to_utf8(""), "");
  EXPECT_EQ(latin1_to_utf8("a\xE9\xFF\x80\x7F"), "a\xC3\xA9\xC3\xBF\xC2\x80\x7F");
  std::string scratch;
  EXPECT_EQ(utf8_to_latin1("a\xC3\xA9\xC3\xBF\xC2\x80\x7F", scratch), "a\xE9\xFF\x80\x7F");
  EXPECT_EQ(utf8_to_latin1("", scratch), "");
  EXPECT_EQ(latin1_utf8_size("a\xE9\xFF"), 5u);
}

TEST(Latin1, RoundTripsEveryLengthAndMix) {
  std::mt19937 rng(7);
  std::string scratch;  // reused, as the decoder does: a longer earlier text must not show
  for (int high : {0, 3, 50, 100}) {
    for (size_t n = 0; n <= 80; ++n) {
      for (int rep = 0; rep < 4; ++rep) {
        const std::string bytes = random_bytes(rng, n, high);
        const std::string utf8 = latin1_to_utf8(bytes);
        ASSERT_EQ(utf8, widen_ref(bytes)) << n << " " << high;
        ASSERT_EQ(utf8_to_latin1(utf8, scratch), bytes) << n << " " << high;
      }
    }
  }
  const std::string big = random_bytes(rng, 1 << 20, 50);
  EXPECT_EQ(utf8_to_latin1(latin1_to_utf8(big), scratch), big);
}

// Every way a text can leave latin-1, at every position of a text long
// enough for the SIMD steps: utf8_to_latin1 must say no.
TEST(Latin1, RefusesAnythingElseAtEveryPosition) {
  std::mt19937 rng(11);
  const std::string base = latin1_to_utf8(random_bytes(rng, 40, 30));
  const std::string spoilers[] = {
      "\xC4\x80",      // U+0100: valid UTF-8, not latin-1
      "\xE2\x82\xAC",  // U+20AC
      "\xF0\x9F\x99\x82",
      "\x80",          // a continuation without a lead
      "\xC3",          // a lead without a continuation (then ASCII or the end)
      "\xC3\xC3",      // a lead followed by a lead
      "\xC1\xBF",      // overlong
      "\xFF",
  };
  for (const std::string& bad : spoilers) {
    for (size_t at = 0; at <= base.size(); ++at) {
      // Only at character boundaries: splitting a pair would spoil it anyway.
      if (at < base.size() && (static_cast<unsigned char>(base[at]) & 0xC0) == 0x80) continue;
      const std::string text = base.substr(0, at) + bad + base.substr(at);
      std::string scratch;
      EXPECT_FALSE(utf8_to_latin1(text, scratch)) << at << " " << text.size();
    }
  }
}

// A lead that ends one 16-byte block and its continuation that starts the
// next; a lead as the very last byte, with and without 16 more bytes.
TEST(Latin1, PairsAcrossBlockEdges) {
  for (size_t lead_at = 0; lead_at < 48; ++lead_at) {
    std::string text(lead_at, 'a');
    text += "\xC3\xA9";
    text += std::string(40, 'b');
    std::string scratch;
    EXPECT_EQ(utf8_to_latin1(text, scratch), std::string(lead_at, 'a') + "\xE9" + std::string(40, 'b')) << lead_at;
    std::string cut(lead_at, 'a');
    cut += "\xC3";
    EXPECT_FALSE(utf8_to_latin1(cut, scratch)) << lead_at;
  }
}

}  // namespace

// latin1_length: the character count of text below U+0100 at every length
// around the 16-byte steps, and nullopt for a byte of 0xC4 or above at every
// position (a lead beyond U+00FF, 3- and 4-byte leads, 0xFF).
TEST(Latin1, LengthAtEveryLengthAndSpoiler) {
  using pkl::detail::latin1_length;
  std::mt19937 rng(13);
  for (int high : {0, 50, 100}) {
    for (size_t n = 0; n <= 80; ++n) {
      const std::string bytes = random_bytes(rng, n, high);
      const std::string utf8 = widen_ref(bytes);
      ASSERT_EQ(latin1_length(utf8), n) << n << " " << high;
      for (size_t at = 0; at <= utf8.size(); ++at) {
        for (char spoiler : {'\xC4', '\xE2', '\xF0', '\xFF'}) {
          std::string bad = utf8;
          bad.insert(at, 1, spoiler);
          ASSERT_FALSE(latin1_length(bad)) << n << " " << at;
        }
      }
    }
  }
  EXPECT_EQ(latin1_length("\xC3\xA9\xC3"), 2u);  // counts, does not validate
}
