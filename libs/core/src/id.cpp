#include "csp/core/id.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <random>

namespace csp {

namespace {

// One generator per thread, seeded from the OS: no lock, no shared state.
std::mt19937_64& ThreadRng() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  return rng;
}

std::string Format(std::array<uint8_t, 16>& b, int version) {
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | (version << 4));
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

}  // namespace

std::string NewUuid() {
  std::mt19937_64& rng = ThreadRng();
  std::array<uint8_t, 16> b{};
  uint64_t hi = rng();
  uint64_t lo = rng();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (8 * i));
  }
  return Format(b, 4);
}

std::string NewTimeOrderedUuid() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const uint64_t ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
  const uint64_t ms = ns / 1000000;
  // RFC 9562 §6.2 method 3: the 12 bits after the milliseconds carry the sub-millisecond time.
  const uint64_t fraction = (ns % 1000000) * 4096 / 1000000;
  const uint64_t random = ThreadRng()();
  std::array<uint8_t, 16> b{};
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  b[6] = static_cast<uint8_t>(fraction >> 8);
  b[7] = static_cast<uint8_t>(fraction);
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(random >> (8 * i));
  return Format(b, 7);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
      continue;
    }
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

}  // namespace csp
