#include "store/delivery.hpp"

#include "smtp/trace.hpp"

namespace mail::store {

Result<Delivery> Delivery::begin(const Layout& layout, MessageInfo info) {
  Delivery d(layout, std::move(info));
  if (!d.info_.local.empty()) {
    auto f = StagedFile::create(layout.fs(), layout.maildir(d.info_.local.front()) / "tmp", d.info_.unique);
    if (!f) return std::move(f).error();
    d.mailbox_ = std::move(*f);
    if (auto r = d.mailbox_->write(smtp::return_path_header(d.info_.sender)); !r) return r.error();
    if (auto r = d.mailbox_->write(d.info_.received_header); !r) return r.error();
  }
  if (!d.info_.remote.empty()) {
    auto f = StagedFile::create(layout.fs(), layout.queue_tmp(), d.info_.id + ".eml");
    if (!f) return std::move(f).error();
    d.queue_ = std::move(*f);
    if (auto r = d.queue_->write(d.info_.received_header); !r) return r.error();
  }
  return d;
}

Result<void> Delivery::write_line(std::string_view text) {
  if (mailbox_)
    if (auto r = mailbox_->write_line(text); !r) return r;
  if (queue_)
    if (auto r = queue_->write_line(text); !r) return r;
  return {};
}

Result<void> Delivery::write_piece(std::string_view text) {
  if (mailbox_)
    if (auto r = mailbox_->write(text); !r) return r;
  if (queue_)
    if (auto r = queue_->write(text); !r) return r;
  return {};
}

std::uint64_t Delivery::size() const noexcept {
  if (mailbox_) return mailbox_->size();
  return queue_ ? queue_->size() : 0;
}

Result<void> Delivery::plan(CommitJob& job, bool with_fds, Stored& stored) {
  stored.id = info_.id;
  stored.size = size();
  if (mailbox_) {
    if (auto r = mailbox_->flush(); !r) return r;
    if (with_fds) job.sync_fds.push_back(mailbox_->fd());
    auto name = maildir::final_name(info_.unique, mailbox_->size(), mailbox_->crlf_size());
    const auto from = mailbox_->path().string();
    for (size_t i = 0; i < info_.local.size(); ++i) {
      auto new_dir = layout_->maildir(info_.local[i]) / "new";
      auto to = (new_dir / name).string();
      if (info_.local.size() == 1) job.renames.emplace_back(from, to);
      else job.links.emplace_back(from, to);  // one copy on disk, one name per mailbox
      job.sync_dirs.push_back(new_dir.string());
      stored.mailbox_files.emplace_back(std::move(to));
    }
    if (info_.local.size() > 1) job.unlinks.push_back(from);
  }
  if (queue_) {
    if (auto r = queue_->flush(); !r) return r;
    QueueEnvelope env;
    env.id = info_.id;
    env.sender = info_.sender;
    env.helo = info_.helo;
    env.received = info_.when;
    env.body_8bit = info_.body_8bit;
    for (const auto& r : info_.remote) env.recipients.push_back(QueuedRecipient{r, RcptState::pending, 0, 0, {}});
    auto f = StagedFile::create(layout_->fs(), layout_->queue_tmp(), info_.id + ".json");
    if (!f) return std::move(f).error();
    envelope_ = std::move(*f);
    if (auto r = envelope_->write(to_json(env)); !r) return r;
    if (auto r = envelope_->flush(); !r) return r;
    if (with_fds) {
      job.sync_fds.push_back(queue_->fd());
      job.sync_fds.push_back(envelope_->fd());
    }
    stored.queue_file = layout_->queue() / (info_.id + ".eml");
    stored.queued = std::move(env);
    // The body first: a queue runner only picks up ids whose .json exists.
    job.renames.emplace_back(queue_->path().string(), stored.queue_file.string());
    job.renames.emplace_back(envelope_->path().string(), (layout_->queue() / (info_.id + ".json")).string());
    job.sync_dirs.push_back(layout_->queue().string());
  }
  return {};
}

Result<CommitJob> Delivery::finish() {
  CommitJob job;
  Stored unused;
  if (auto r = plan(job, true, unused); !r) return r.error();
  return job;
}

Result<Sealed> Delivery::seal() && {
  CommitJob steps;
  Stored stored;
  if (auto r = plan(steps, false, stored); !r) return r.error();
  Sealed out{Commit(std::move(steps)), std::move(stored)};
  for (auto* f : {&mailbox_, &queue_, &envelope_}) {  // synced in this order, as finish() has it
    if (*f) out.job.sync(std::move(**f));
    f->reset();
  }
  return out;
}

void Delivery::committed() {
  // Renamed or linked into place (and the tmp name unlinked): nothing to clean up any more.
  if (mailbox_) mailbox_->release();
  if (queue_) queue_->release();
  if (envelope_) envelope_->release();
}

}  // namespace mail::store
