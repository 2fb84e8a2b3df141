#include "csp/sqlite/group_commit.h"

#include "csp/sqlite/database.h"
#include "csp/sqlite/transaction.h"

namespace csp::sqlite {

Status GroupCommit::Write(const Work& work, const std::function<void()>& queued) {
  Pending mine{&work};
  std::unique_lock<std::mutex> lock(queue_mu_);
  queue_.push_back(&mine);
  if (queued) queued();
  while (!mine.done) {
    if (leading_) {
      cv_.wait(lock);
      continue;
    }
    // Nobody is committing: lead the batch of everything queued so far (this write included).
    leading_ = true;
    std::vector<Pending*> batch;
    batch.swap(queue_);
    lock.unlock();
    bool committed = RunBatch(batch);
    lock.lock();
    for (Pending* p : batch) p->done = true;
    leading_ = false;
    if (committed) ++commits_;
    writes_ += static_cast<int64_t>(batch.size());
    cv_.notify_all();
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
