#pragma once
// Forward-only schema migrations keyed by SQLite's PRAGMA user_version.

#include <string>
#include <vector>

#include "csp/core/result.h"

namespace csp::sqlite {

class Database;

// steps[i] is the SQL (one or more statements) that takes the schema from version i to i+1.
// Applies steps[user_version..] in order, each in its own transaction together with the
// user_version bump, so a crash leaves the database at a whole version. Idempotent: a database
// already at steps.size() is left alone. Never edit or reorder a released step; append new ones.
// Errors: kFailedPrecondition when the database is newer than the code (user_version >
// steps.size()); a failing step's error, prefixed "migration <n>", with the database left at n-1.
Status Migrate(Database& db, const std::vector<std::string>& steps);

// The database's PRAGMA user_version.
Result<int> SchemaVersion(Database& db);

}  // namespace csp::sqlite
