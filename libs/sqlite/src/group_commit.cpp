#include "csp/sqlite/group_commit.h"

#include "csp/sqlite/database.h"
#include "csp/sqlite/transaction.h"

namespace csp::sqlite {

Status GroupCommit::Write(const Work& work, const std::function<void()>& queued) {
  Pending mine(&work);
  std::unique_lock<std::mutex> lock(queue_mu_);
  queue_.push_back(&mine);
  if (queued) queued();
  if (leading_) {
    // Woken once, by the leader: with this write committed (or failed), or to lead the next
    // batch. Each writer has its own condition, so no one wakes up only to sleep again.
    mine.cv.wait(lock, [&] { return mine.done || mine.lead; });
    if (mine.done) return mine.result;
  }
  leading_ = true;
  // Lead: commit what is queued (this write among it), then, while more writes queued meanwhile,
  // commit those too, up to kMaxRounds batches, before handing the lead to the next writer.
  for (int round = 0;; ++round) {
    std::vector<Pending*> batch;
    batch.swap(queue_);
    lock.unlock();
    bool committed = RunBatch(batch);
    lock.lock();
    if (committed) ++commits_;
    writes_ += static_cast<int64_t>(batch.size());
    for (Pending* p : batch) {
      p->done = true;
      if (p != &mine) p->cv.notify_one();
    }
    if (queue_.empty() || round + 1 >= kMaxRounds) break;
  }
  if (queue_.empty()) {
    leading_ = false;
  } else {
    queue_.front()->lead = true;
    queue_.front()->cv.notify_one();
  }
  return mine.result;
}

bool GroupCommit::RunBatch(std::vector<Pending*>& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  auto tx = Transaction::Begin(db_);
  if (!tx) {
    for (Pending* p : batch) p->result = tx.error();
    return false;
  }
  bool any_ok = false;
  if (batch.size() == 1) {
    // Alone: the transaction is the work's own, no savepoint needed.
    batch.front()->result = (*batch.front()->work)();
    any_ok = batch.front()->result.ok();
  } else {
    for (Pending* p : batch) {
      if (Status s = db_.ExecCached("SAVEPOINT write"); !s) {
        p->result = s;
        continue;
      }
      p->result = (*p->work)();
      if (!p->result) (void)db_.ExecCached("ROLLBACK TO write");
      (void)db_.ExecCached("RELEASE write");
      any_ok = any_ok || p->result.ok();
    }
  }
  if (!any_ok) return false;  // nothing to keep: the destructor rolls the transaction back
  if (Status committed = tx->Commit(); !committed) {
    for (Pending* p : batch) {
      if (p->result) p->result = committed;
    }
    if (on_rollback_) on_rollback_();
    return false;
  }
  if (on_commit_) on_commit_();
  return true;
}

int64_t GroupCommit::commits() const {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return commits_;
}

int64_t GroupCommit::writes() const {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return writes_;
}

}  // namespace csp::sqlite
