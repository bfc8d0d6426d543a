-- An operator's replay of a workspace's event log over a time range, rebuilding its entities.
create table workspace_replays (
    id              uuid primary key,
    workspace_id    text not null,
    from_at         timestamptz not null,
    to_at           timestamptz not null,
    status          text not null default 'queued'
                    check (status in ('queued', 'running', 'completed', 'failed')),
    events_applied  bigint not null default 0,
    -- Paging position: the last (accepted_at, message_id) applied.
    last_accepted_at timestamptz,
    last_message_id uuid,
    requested_by    text not null,
    request_id      text not null,
    error           text,
    created_at      timestamptz not null default now(),
    finished_at     timestamptz
);
create index workspace_replays_workspace on workspace_replays (workspace_id, created_at);
