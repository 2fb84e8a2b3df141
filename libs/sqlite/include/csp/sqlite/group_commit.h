#pragma once
// Group commit: the writes that reach one connection at the same time share one transaction.
//
// Each Write runs its work and returns only once that work is committed, exactly as if it had
// its own BEGIN ... COMMIT; but while one batch is committing, the writes that arrive queue up,
// and the caller leading the commits (the "leader") executes all of them next, each inside its
// own SAVEPOINT, and commits them together; after a few batches it hands the lead to the first
// waiting writer. N concurrent writers then pay for one commit (one set of WAL page
// writes) instead of N, and a lone writer pays what it did before.
//
//   std::mutex mu;                       // the lock every user of db already takes
//   GroupCommit group(db, mu);
//   Status s = group.Write([&] { return InsertRow(db, ...); });   // mu is held while it runs
//
// Rules: work runs on whichever thread leads the batch, with `mu` held, so it must not lock mu
// itself, must not open a transaction, and may only touch state that is safe from that thread
// (the caller is blocked in Write until the work has run, so its locals are fine).
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "csp/core/result.h"

namespace csp::sqlite {

class Database;

class GroupCommit {
 public:
  using Work = std::function<Status()>;

  // db is only used with mu held; both must outlive this object.
  GroupCommit(Database& db, std::mutex& mu) : db_(db), mu_(mu) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs work in the next batch and waits for that batch's commit. Returns work's own error if
  // it failed (its changes alone are rolled back; the rest of the batch still commits), or the
  // commit's error if the batch could not be committed (then nothing of the batch is kept).
  //
  // `queued`, if given, is called as soon as the write has its place in the commit order (before
  // it runs), with no lock of the caller's taken by this class: a caller that serialises its
  // writes under its own lock can release that lock there, so that its next write can join the
  // same batch while the order of the two is kept.
  Status Write(const Work& work, const std::function<void()>& queued = {});

  // Called with mu held after a batch was rolled back as a whole (its commit failed), so that
  // caches built from the batch's writes can be dropped.
  void set_on_rollback(std::function<void()> fn) { on_rollback_ = std::move(fn); }
  // Called with mu held right after each successful commit, before any writer of the batch
  // returns: the place to publish what the batch wrote, in commit order.
  void set_on_commit(std::function<void()> fn) { on_commit_ = std::move(fn); }

  // How many commits and writes so far (for tests and metrics); a batch that kept nothing is
  // not a commit.
  int64_t commits() const;
  int64_t writes() const;

 private:
  // Batches one leader commits in a row before it hands the lead to the next waiting writer:
  // enough to save most hand-overs, few enough that the leader's own caller is not held long.
  static constexpr int kMaxRounds = 4;

  struct Pending {
    explicit Pending(const Work* w) : work(w) {}
    const Work* work;
    Status result = Ok();
    bool done = false;
    bool lead = false;  // set by the previous leader: this writer leads the next batch
    std::condition_variable cv;
  };
  // Runs the batch under mu; true when it was committed (false: nothing of it was kept).
  bool RunBatch(std::vector<Pending*>& batch);

  Database& db_;
  std::mutex& mu_;
  std::function<void()> on_rollback_;
  std::function<void()> on_commit_;

  mutable std::mutex queue_mu_;
  std::vector<Pending*> queue_;
  bool leading_ = false;
  int64_t commits_ = 0;
  int64_t writes_ = 0;
};

}  // namespace csp::sqlite
