-- Bootstrap jobs, API Studio calls, and webhooks registered through the webhooks API.

-- A workspace's import from the Clockify API. At most one runs per workspace at a time.
create table bootstrap_jobs (
    id            uuid primary key,
    workspace_id  text not null,
    status        text not null check (status in ('running', 'completed', 'completed_with_errors', 'failed', 'cancelled')),
    requested_by  text not null,
    request_id    text not null,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    finished_at   timestamptz
);
create unique index bootstrap_jobs_one_running on bootstrap_jobs (workspace_id) where status = 'running';
create index bootstrap_jobs_latest on bootstrap_jobs (workspace_id, created_at desc);

-- The units a job is split into (one list, or the tasks of one project, or the time entries of
-- one user), each checkpointed page by page so a unit whose worker died resumes where it stopped.
create table bootstrap_units (
    job_id        uuid not null references bootstrap_jobs (id) on delete cascade,
    workspace_id  text not null,
    unit_key      text not null,
    kind          text not null,
    status        text not null check (status in ('pending', 'done', 'failed', 'cancelled')),
    next_page     integer not null default 1,
    pages         integer not null default 0,
    items         integer not null default 0,
    error         text,
    updated_at    timestamptz not null default now(),
    primary key (job_id, unit_key)
);
create index bootstrap_units_workspace on bootstrap_units (workspace_id, job_id);

-- API Studio calls made by workspace users, with what Clockify answered.
create table api_calls (
    id                  uuid primary key,
    workspace_id        text not null,
    user_id             text,
    request_id          text not null,
    operation_id        text not null,
    api_base            text not null check (api_base in ('backend', 'reports', 'pto')),
    tag                 text not null,
    method              text not null,
    path                text not null,
    query               jsonb not null default '[]'::jsonb,
    body                jsonb,
    status              text not null check (status in ('queued', 'running', 'succeeded', 'failed')),
    upstream_status     integer,
    duration_ms         integer,
    attempts            integer,
    response_body       jsonb,
    response_truncated  boolean not null default false,
    error               text,
    created_at          timestamptz not null default now(),
    finished_at         timestamptz
);
create index api_calls_latest on api_calls (workspace_id, created_at desc);

-- Webhooks registered through the webhooks API carry Clockify's id, for deleting them later.
alter table webhook_tokens add column clockify_webhook_id text;
