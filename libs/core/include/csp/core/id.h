#pragma once
// Identifiers: lowercase UUID v4 strings, as the original uses for every id.

#include <string>
#include <string_view>

namespace csp {

// A random UUID v4, e.g. "3f0c2a9e-5b1d-4c7e-9a2f-0b1c2d3e4f50". Thread-safe.
std::string NewUuid();

// A UUID v7 (RFC 9562): the first 48 bits are the Unix time in milliseconds and the next 12 a
// fraction of the millisecond, then 62 random bits. Ids made later sort after earlier ones (to
// the quarter microsecond, within one process), so a b-tree keyed by them grows at its right
// edge: an insert dirties the last pages instead of a random page that may have to split. For
// ids that are keys of our own stores (job and request ids); they reveal when they were made.
// Thread-safe.
std::string NewTimeOrderedUuid();

// True for a lowercase or uppercase 8-4-4-4-12 hex UUID of any version.
bool IsUuid(std::string_view s);

}  // namespace csp
