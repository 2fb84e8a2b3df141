#include "store.h"

#include <functional>
#include <variant>

#include "csp/core/time.h"
#include "csp/json/json.h"
#include "csp/sqlite/migrate.h"
#include "csp/sqlite/statement.h"
#include "csp/sqlite/transaction.h"

namespace csp::job_control {

namespace {

const std::vector<std::string> kMigrations = {
    R"sql(
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  name TEXT,
  status TEXT NOT NULL,
  document TEXT NOT NULL,
  state_url TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  error TEXT,
  idempotency_key TEXT UNIQUE,
  deadline INTEGER,
  seeded INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  end_status TEXT,
  step_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_status ON jobs(status);
CREATE TABLE tasks (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  step_index INTEGER NOT NULL,
  task_index INTEGER NOT NULL,
  label TEXT,
  status TEXT NOT NULL,
  request_id TEXT,
  service_url TEXT,
  endpoint TEXT,
  request TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  sent INTEGER NOT NULL DEFAULT 0,
  http_status INTEGER,
  result TEXT,
  error TEXT,
  started_at INTEGER,
  finished_at INTEGER,
  completion_seq INTEGER,
  PRIMARY KEY (job_id, step_index, task_index)
);
CREATE TABLE reverts (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  step_index INTEGER NOT NULL,
  task_index INTEGER NOT NULL,
  request_id TEXT,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  http_status INTEGER,
  error TEXT,
  reply TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (job_id, step_index, task_index)
);
CREATE TABLE events (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
);
)sql",
    // Events keyed by (job_id, seq) in the table itself (no rowid and no separate key index):
    // an appended event writes one b-tree page instead of two.
    R"sql(
CREATE TABLE events_by_key (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
INSERT INTO events_by_key (job_id, seq, at, type, data) SELECT job_id, seq, at, type, data FROM events;
DROP TABLE events;
ALTER TABLE events_by_key RENAME TO events;
)sql",
};

using Param = std::variant<std::nullptr_t, int64_t, std::string>;

Param Opt(const std::optional<int64_t>& v) { return v ? Param(*v) : Param(nullptr); }
Param Opt(const std::optional<int>& v) { return v ? Param(static_cast<int64_t>(*v)) : Param(nullptr); }
Param Text(const std::string& s) { return s.empty() ? Param(nullptr) : Param(s); }
Param JsonOrNull(const json::Value& v) { return v.IsNull() ? Param(nullptr) : Param(json::Dump(v)); }
Param JsonText(const json::Value& v) { return Param(json::Dump(v)); }

Status BindAll(sqlite::Statement& st, const std::vector<Param>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i) + 1;
    Status s = std::visit(
        [&](const auto& v) -> Status {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) return st.Bind(index, nullptr);
          else return st.Bind(index, v);
        },
        params[i]);
    if (!s) return s;
  }
  return Ok();
}

// Prepares (cached), binds and runs a statement that returns no rows.
Status Run(sqlite::Database& db, std::string_view sql, const std::vector<Param>& params) {
  auto st = db.Cached(sql);
  if (!st) return st.error();
  if (auto s = BindAll(**st, params); !s) return s;
  return (*st)->Run();
}

// Prepares (cached) and binds a query; the caller steps it and must Reset() it.
Result<sqlite::Statement*> Query(sqlite::Database& db, std::string_view sql, const std::vector<Param>& params) {
  auto st = db.Cached(sql);
  if (!st) return st.error();
  if (auto s = BindAll(**st, params); !s) return s.error();
  return *st;
}

// Steps a query from Query() to its end (or until `row` returns false), then resets it.
Status ForEachRow(sqlite::Statement& st, const std::function<bool(const sqlite::Statement&)>& row) {
  for (;;) {
    auto more = st.Step();
    if (!more) {
      st.Reset();
      return more.error();
    }
    if (!*more || !row(st)) break;
  }
  st.Reset();
  return Ok();
}

json::Value ParseOrNull(const sqlite::Statement& st, int col) {
  if (st.ColumnIsNull(col)) return json::Value();
  auto v = json::Parse(st.ColumnText(col));
  return v ? std::move(*v) : json::Value();
}

std::optional<int64_t> OptInt(const sqlite::Statement& st, int col) {
  if (st.ColumnIsNull(col)) return std::nullopt;
  return st.ColumnInt(col);
}

constexpr std::string_view kJobColumns =
    "id, name, status, document, state_url, created_at, started_at, completed_at, error, idempotency_key, "
    "deadline, seeded, cancel_requested, end_status, step_count";

JobRow ReadJob(const sqlite::Statement& st) {
  JobRow j;
  j.id = st.ColumnText(0);
  j.name = st.ColumnText(1);
  j.status = st.ColumnText(2);
  j.document = st.ColumnText(3);
  j.state_url = st.ColumnText(4);
  j.created_at = st.ColumnInt(5);
  j.started_at = OptInt(st, 6);
  j.completed_at = OptInt(st, 7);
  j.error = ParseOrNull(st, 8);
  j.idempotency_key = st.ColumnText(9);
  j.deadline = OptInt(st, 10);
  j.seeded = st.ColumnInt(11) != 0;
  j.cancel_requested = st.ColumnInt(12) != 0;
  j.end_status = st.ColumnText(13);
  j.step_count = static_cast<int>(st.ColumnInt(14));
  return j;
}

std::string Iso(std::optional<int64_t> ms) { return ms ? FormatIso8601(FromUnixMillis(*ms)) : std::string(); }

bool Matches(const JobRow& j, const JobFilter& f) {
  auto contains = [](const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; };
  if (!f.name.empty() && (j.name.empty() || !contains(j.name, f.name))) return false;
  if (!f.created_at.empty() && !contains(Iso(j.created_at), f.created_at)) return false;
  if (!f.completed_at.empty() && (!j.completed_at || !contains(Iso(j.completed_at), f.completed_at))) return false;
  return true;
}

}  // namespace

const std::vector<std::string>& StoreMigrations() { return kMigrations; }

bool IsTerminalStatus(const std::string& status) {
  return status == kCompleted || status == kFailed || status == kRevertFailed || status == kCancelled;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  auto db = sqlite::Database::Open(path, sqlite::ExclusiveOptions());
  if (!db) return db.error();
  if (auto s = sqlite::Migrate(*db, StoreMigrations()); !s) return s.error();
  return std::unique_ptr<Store>(new Store(std::move(*db)));
}

Store::Store(sqlite::Database db) : db_(std::move(db)) {
  // A batch whose commit failed took every event of it along: no cached seq can be trusted.
  group_.set_on_rollback([this] { last_seq_.clear(); });
}

bool Store::Healthy() {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = Query(db_, "SELECT 1", {});
  if (!st) return false;
  auto row = (*st)->Step();
  (*st)->Reset();
  return row.ok();
}

Result<Store::Created> Store::CreateJob(const NewJob& job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!job.idempotency_key.empty()) {
    auto st = Query(db_, "SELECT id FROM jobs WHERE idempotency_key = ?", {job.idempotency_key});
    if (!st) return st.error();
    auto row = (*st)->Step();
    std::string existing = row && *row ? (*st)->ColumnText(0) : std::string();
    (*st)->Reset();
    if (!row) return row.error();
    if (!existing.empty()) return Created{existing, false};
  }
  auto tx = sqlite::Transaction::Begin(db_);
  if (!tx) return tx.error();
  Status s = Run(db_,
                 "INSERT INTO jobs (id, name, status, document, state_url, created_at, idempotency_key, step_count) "
                 "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
                 {job.id, Text(job.name), job.document, Text(job.state_url), job.created_at,
                  Text(job.idempotency_key), static_cast<int64_t>(job.step_count)});
  if (!s) return s.error();
  for (const auto& t : job.tasks) {
    s = Run(db_, "INSERT INTO tasks (job_id, step_index, task_index, label, status) VALUES (?, ?, ?, ?, ?)",
            {job.id, static_cast<int64_t>(t.step), static_cast<int64_t>(t.task), t.label,
             std::string(t.skipped ? kTaskSkipped : kTaskPending)});
    if (!s) return s.error();
  }
  json::Value data = json::Object{{"name", job.name.empty() ? json::Value() : json::Value(job.name)},
                                  {"steps", job.step_count}};
  if (auto e = AppendEventLocked(job.id, job.created_at, "job_accepted", data); !e) return e.error();
  if (auto c = tx->Commit(); !c) {
    last_seq_.erase(job.id);  // rolled back: the cached seq must not run ahead of the table
    return c.error();
  }
  return Created{job.id, true};
}

Result<JobRow> Store::GetJobLocked(const std::string& id) {
  auto st = Query(db_, "SELECT " + std::string(kJobColumns) + " FROM jobs WHERE id = ?", {id});
  if (!st) return st.error();
  auto row = (*st)->Step();
  if (!row) {
    (*st)->Reset();
    return row.error();
  }
  if (!*row) {
    (*st)->Reset();
    return NotFound("Job not found");
  }
  JobRow j = ReadJob(**st);
  (*st)->Reset();
  return j;
}

Result<JobRow> Store::GetJob(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  return GetJobLocked(id);
}

std::optional<std::string> Store::FindByIdempotencyKey(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = Query(db_, "SELECT id FROM jobs WHERE idempotency_key = ?", {key});
  if (!st) return std::nullopt;
  auto row = (*st)->Step();
  std::optional<std::string> out;
  if (row && *row) out = (*st)->ColumnText(0);
  (*st)->Reset();
  return out;
}

Result<std::vector<JobRow>> Store::ListJobs(const JobFilter& filter) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string sql = "SELECT " + std::string(kJobColumns) + " FROM jobs";
  std::vector<Param> params;
  if (!filter.status.empty()) {
    sql += " WHERE status = ?";
    params.emplace_back(filter.status);
  }
  sql += " ORDER BY rowid";
  auto st = Query(db_, sql, params);
  if (!st) return st.error();
  std::vector<JobRow> out;
  auto each = ForEachRow(**st, [&](const sqlite::Statement& s) {
    JobRow j = ReadJob(s);
    if (!Matches(j, filter)) return true;
    out.push_back(std::move(j));
    if (filter.limit > 0 && static_cast<int64_t>(out.size()) >= filter.limit) return false;
    return true;
  });
  if (!each) return each.error();
  return out;
}

Result<std::vector<std::string>> Store::UnfinishedJobs() {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = Query(db_, "SELECT id FROM jobs WHERE status IN ('queued', 'running', 'reverting') ORDER BY rowid", {});
  if (!st) return st.error();
  std::vector<std::string> out;
  auto each = ForEachRow(**st, [&](const sqlite::Statement& s) {
    out.push_back(s.ColumnText(0));
    return true;
  });
  if (!each) return each.error();
  return out;
}

Result<std::map<std::string, int64_t>> Store::CountByStatus() {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = Query(db_, "SELECT status, COUNT(*) FROM jobs GROUP BY status", {});
  if (!st) return st.error();
  std::map<std::string, int64_t> out;
  for (const char* s : {kQueued, kRunning, kReverting, kCompleted, kFailed, kRevertFailed, kCancelled}) out[s] = 0;
  auto each = ForEachRow(**st, [&](const sqlite::Statement& s) {
    out[s.ColumnText(0)] = s.ColumnInt(1);
    return true;
  });
  if (!each) return each.error();
  return out;
}

Status Store::MarkRunning(const std::string& id, int64_t started_at, int64_t deadline,
                          const std::vector<NewEvent>& events, const Queued& queued) {
  return WriteWithEvents(id, events, [&] {
    return Run(db_, "UPDATE jobs SET status = 'running', started_at = ?, deadline = ? WHERE id = ?",
               {started_at, deadline, id});
  }, queued);
}

Status Store::SetStateUrl(const std::string& id, const std::string& state_url, bool seeded,
                          const std::vector<NewEvent>& events, const Queued& queued) {
  return WriteWithEvents(id, events, [&] {
    return Run(db_, "UPDATE jobs SET state_url = ?, seeded = ? WHERE id = ?",
               {state_url, static_cast<int64_t>(seeded ? 1 : 0), id});
  }, queued);
}

Status Store::MarkSeeded(const std::string& id, const std::vector<NewEvent>& events, const Queued& queued) {
  return WriteWithEvents(id, events, [&] { return Run(db_, "UPDATE jobs SET seeded = 1 WHERE id = ?", {id}); }, queued);
}

Status Store::SetCancelRequested(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  return Run(db_, "UPDATE jobs SET cancel_requested = 1 WHERE id = ?", {id});
}

Result<bool> Store::CancelQueued(const std::string& id, int64_t at, const json::Value& error) {
  std::lock_guard<std::mutex> lock(mu_);
  auto tx = sqlite::Transaction::Begin(db_);
  if (!tx) return tx.error();
  auto s = Run(db_,
               "UPDATE jobs SET status = 'cancelled', cancel_requested = 1, completed_at = ?, error = ? "
               "WHERE id = ? AND status = 'queued'",
               {at, JsonOrNull(error), id});
  if (!s) return s.error();
  if (db_.Changes() == 0) return false;
  json::Value data = json::Object{{"status", kCancelled}, {"error", error}};
  auto e = AppendEventLocked(id, at, "job_ended", data);
  Status committed = e ? tx->Commit() : Status(e.error());
  last_seq_.erase(id);  // ended (or not committed): reloaded from the table if ever needed again
  if (!committed) return committed.error();
  return true;
}

Status Store::MarkReverting(const std::string& id, const json::Value& error, const std::string& end_status) {
  std::lock_guard<std::mutex> lock(mu_);
  return Run(db_, "UPDATE jobs SET status = 'reverting', error = ?, end_status = ? WHERE id = ?",
             {JsonOrNull(error), end_status, id});
}

Status Store::FinishJob(const std::string& id, const std::string& status, int64_t at, const json::Value& error) {
  std::lock_guard<std::mutex> lock(mu_);
  auto tx = sqlite::Transaction::Begin(db_);
  if (!tx) return tx.error();
  auto s = Run(db_, "UPDATE jobs SET status = ?, completed_at = ?, error = ? WHERE id = ?",
               {status, at, JsonOrNull(error), id});
  if (!s) return s;
  json::Value data = json::Object{{"status", status}, {"error", error}};
  auto e = AppendEventLocked(id, at, "job_ended", data);
  Status committed = e ? tx->Commit() : Status(e.error());
  last_seq_.erase(id);  // ended (or not committed): reloaded from the table if ever needed again
  return committed;
}

Status Store::DeleteJob(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  last_seq_.erase(id);
  auto s = Run(db_, "DELETE FROM jobs WHERE id = ?", {id});
  if (!s) return s;
  if (db_.Changes() == 0) return NotFound("Job not found");
  return Ok();
}

Result<int64_t> Store::PruneFinished(int64_t before) {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = Run(db_,
               "DELETE FROM jobs WHERE status IN ('completed', 'failed', 'revert-failed', 'cancelled') "
               "AND completed_at IS NOT NULL AND completed_at < ?",
               {before});
  last_seq_.clear();  // cheap to reload; the pruned jobs' entries must not outlive them
  if (!s) return s.error();
  return static_cast<int64_t>(db_.Changes());
}

Result<std::vector<TaskRow>> Store::ListTasks(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = Query(db_,
                  "SELECT step_index, task_index, label, status, request_id, service_url, endpoint, request, attempts, "
                  "sent, http_status, result, error, started_at, finished_at, completion_seq FROM tasks "
                  "WHERE job_id = ? ORDER BY step_index, task_index",
                  {job_id});
  if (!st) return st.error();
  std::vector<TaskRow> out;
  auto each = ForEachRow(**st, [&](const sqlite::Statement& s) {
    TaskRow t;
    t.step = static_cast<int>(s.ColumnInt(0));
    t.task = static_cast<int>(s.ColumnInt(1));
    t.label = s.ColumnText(2);
    t.status = s.ColumnText(3);
    t.request_id = s.ColumnText(4);
    t.service_url = s.ColumnText(5);
    t.endpoint = s.ColumnText(6);
    t.request = ParseOrNull(s, 7);
    t.attempts = static_cast<int>(s.ColumnInt(8));
    t.sent = s.ColumnInt(9) != 0;
    if (auto h = OptInt(s, 10)) t.http_status = static_cast<int>(*h);
    t.result = ParseOrNull(s, 11);
    t.error = s.ColumnText(12);
    t.started_at = OptInt(s, 13);
    t.finished_at = OptInt(s, 14);
    t.completion_seq = OptInt(s, 15);
    out.push_back(std::move(t));
    return true;
  });
  if (!each) return each.error();
  return out;
}

Status Store::MarkDispatched(const std::string& job_id, const TaskRow& row, const std::vector<NewEvent>& events,
                             const Queued& queued) {
  return MarkDispatched(job_id, std::vector<const TaskRow*>{&row}, events, queued);
}

Status Store::MarkDispatched(const std::string& job_id, const std::vector<const TaskRow*>& rows,
                             const std::vector<NewEvent>& events, const Queued& queued) {
  return WriteWithEvents(
      job_id, events,
      [&]() -> Status {
        for (const TaskRow* row : rows) {
          Status s = Run(db_,
                         "UPDATE tasks SET status = 'dispatched', request_id = ?, service_url = ?, endpoint = ?, "
                         "request = ?, attempts = ?, sent = ?, started_at = ? "
                         "WHERE job_id = ? AND step_index = ? AND task_index = ?",
                         {row->request_id, row->service_url, row->endpoint, JsonText(row->request),
                          static_cast<int64_t>(row->attempts), static_cast<int64_t>(row->sent ? 1 : 0),
                          Opt(row->started_at), job_id, static_cast<int64_t>(row->step),
                          static_cast<int64_t>(row->task)});
          if (!s) return s;
        }
        return Ok();
      },
      queued);
}

Status Store::RecordAttempt(const std::string& job_id, int step, int task, int attempts, const std::string& service_url,
                            const std::string& endpoint, bool sent) {
  return group_.Write([&] {
    return Run(db_,
               "UPDATE tasks SET attempts = ?, service_url = ?, endpoint = ?, sent = ? "
               "WHERE job_id = ? AND step_index = ? AND task_index = ?",
               {static_cast<int64_t>(attempts), service_url, endpoint, static_cast<int64_t>(sent ? 1 : 0), job_id,
                static_cast<int64_t>(step), static_cast<int64_t>(task)});
  });
}

Status Store::FinishTask(const std::string& job_id, const TaskRow& row, const std::vector<NewEvent>& events,
                         const Queued& queued) {
  return FinishTasks(job_id, std::vector<const TaskRow*>{&row}, events, queued);
}

Status Store::FinishTasks(const std::string& job_id, const std::vector<const TaskRow*>& rows,
                          const std::vector<NewEvent>& events, const Queued& queued) {
  return WriteWithEvents(
      job_id, events,
      [&]() -> Status {
        for (const TaskRow* row : rows) {
          if (Status s = FinishTaskLocked(job_id, *row); !s) return s;
        }
        return Ok();
      },
      queued);
}

Status Store::FinishTaskLocked(const std::string& job_id, const TaskRow& row) {
  return Run(
      db_,
      "UPDATE tasks SET status = ?, attempts = ?, sent = ?, http_status = ?, result = ?, error = ?, "
      "service_url = COALESCE(?, service_url), finished_at = ?, started_at = COALESCE(started_at, ?), "
      "completion_seq = (SELECT COALESCE(MAX(completion_seq), 0) + 1 FROM tasks WHERE job_id = ?) "
      "WHERE job_id = ? AND step_index = ? AND task_index = ?",
      {row.status, static_cast<int64_t>(row.attempts), static_cast<int64_t>(row.sent ? 1 : 0), Opt(row.http_status),
       JsonOrNull(row.result), Text(row.error), Text(row.service_url), Opt(row.finished_at), Opt(row.started_at),
       job_id, job_id, static_cast<int64_t>(row.step), static_cast<int64_t>(row.task)});
}

Status Store::WriteWithEvents(const std::string& job_id, const std::vector<NewEvent>& events,
                              const std::function<Status()>& write, const Queued& queued) {
  auto work = [&]() -> Status {
    Status s = write();
    for (size_t i = 0; s && i < events.size(); ++i) {
      if (auto e = AppendEventLocked(job_id, events[i].at, events[i].type, events[i].data); !e) s = e.error();
    }
    // Rolled back to before this write: an event appended above is gone, so is its cached seq.
    if (!s && !events.empty()) last_seq_.erase(job_id);
    return s;
  };
  return group_.Write(work, queued);
}

Result<std::vector<RevertRow>> Store::ListReverts(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = Query(db_,
                  "SELECT step_index, task_index, request_id, status, attempts, http_status, error, reply, at "
                  "FROM reverts WHERE job_id = ? ORDER BY at, rowid",
                  {job_id});
  if (!st) return st.error();
  std::vector<RevertRow> out;
  auto each = ForEachRow(**st, [&](const sqlite::Statement& s) {
    RevertRow r;
    r.step = static_cast<int>(s.ColumnInt(0));
    r.task = static_cast<int>(s.ColumnInt(1));
    r.request_id = s.ColumnText(2);
    r.status = s.ColumnText(3);
    r.attempts = static_cast<int>(s.ColumnInt(4));
    if (auto h = OptInt(s, 5)) r.http_status = static_cast<int>(*h);
    r.error = s.ColumnText(6);
    r.reply = ParseOrNull(s, 7);
    r.at = s.ColumnInt(8);
    out.push_back(std::move(r));
    return true;
  });
  if (!each) return each.error();
  return out;
}

Status Store::SaveRevert(const std::string& job_id, const RevertRow& row) {
  std::lock_guard<std::mutex> lock(mu_);
  return Run(db_,
             "INSERT INTO reverts (job_id, step_index, task_index, request_id, status, attempts, http_status, error, "
             "reply, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
             "ON CONFLICT (job_id, step_index, task_index) DO UPDATE SET status = excluded.status, "
             "attempts = excluded.attempts, http_status = excluded.http_status, error = excluded.error, "
             "reply = excluded.reply, at = excluded.at",
             {job_id, static_cast<int64_t>(row.step), static_cast<int64_t>(row.task), row.request_id, row.status,
              static_cast<int64_t>(row.attempts), Opt(row.http_status), Text(row.error), JsonOrNull(row.reply), row.at});
}

Result<EventRow> Store::AppendEventLocked(const std::string& job_id, int64_t at, const std::string& type,
                                          const json::Value& data) {
  auto cached = last_seq_.find(job_id);
  int64_t seq = 0;
  if (cached != last_seq_.end()) {
    seq = cached->second + 1;
  } else {
    auto st = Query(db_, "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE job_id = ?", {job_id});
    if (!st) return st.error();
    auto row = (*st)->Step();
    seq = row && *row ? (*st)->ColumnInt(0) : 1;
    (*st)->Reset();
    if (!row) return row.error();
  }
  if (auto s = Run(db_, "INSERT INTO events (job_id, seq, at, type, data) VALUES (?, ?, ?, ?, ?)",
                   {job_id, seq, at, type, JsonText(data)});
      !s) {
    last_seq_.erase(job_id);
    return s.error();
  }
  last_seq_[job_id] = seq;
  return EventRow{seq, at, type, data};
}

Result<EventRow> Store::AppendEvent(const std::string& job_id, int64_t at, const std::string& type,
                                    const json::Value& data) {
  Result<EventRow> appended = Error(ErrorCode::kInternal, "event not written");
  Status s = group_.Write([&]() -> Status {
    appended = AppendEventLocked(job_id, at, type, data);
    if (!appended) return appended.error();
    return Ok();
  });
  if (!s) return s.error();
  return appended;
}

Result<std::vector<EventRow>> Store::ListEvents(const std::string& job_id, int64_t after, int64_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = Query(db_, "SELECT seq, at, type, data FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                  {job_id, after, limit > 0 ? limit : int64_t{-1}});
  if (!st) return st.error();
  std::vector<EventRow> out;
  auto each = ForEachRow(**st, [&](const sqlite::Statement& s) {
    EventRow e;
    e.seq = s.ColumnInt(0);
    e.at = s.ColumnInt(1);
    e.type = s.ColumnText(2);
    e.data = ParseOrNull(s, 3);
    out.push_back(std::move(e));
    return true;
  });
  if (!each) return each.error();
  return out;
}

}  // namespace csp::job_control
