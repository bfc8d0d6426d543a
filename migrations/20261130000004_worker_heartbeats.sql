-- Live worker processes, so event partitions can be spread over them. This is process
-- bookkeeping, not workspace data, so it has no workspace_id.
create table worker_heartbeats (
    worker_id   uuid primary key,
    started_at  timestamptz not null default now(),
    seen_at     timestamptz not null default now()
);
