#pragma once
// Identifiers: lowercase UUID v4 strings, as the original uses for every id.

#include <string>
#include <string_view>

namespace csp {

// A random UUID v4, e.g. "3f0c2a9e-5b1d-4c7e-9a2f-0b1c2d3e4f50". Thread-safe.
std::string NewUuid();

// True for a lowercase or uppercase 8-4-4-4-12 hex UUID of any version.
bool IsUuid(std::string_view s);

}  // namespace csp
