-- Extra webhooks as desired state per installation: one row per event type the coverage plan
-- registers through Clockify's webhooks API, with where its registration stands. A failed one is
-- retried by the workers' sweep at next_attempt_at, with backoff.
create table webhook_registrations (
    workspace_id         text not null references installations (workspace_id) on delete cascade,
    event_type           text not null,
    addon_id             text not null,
    state                text not null check (state in ('pending', 'registered', 'failed')),
    clockify_webhook_id  text,
    last_error           text,
    attempts             integer not null default 0,
    next_attempt_at      timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    primary key (workspace_id, event_type)
);
create index webhook_registrations_due on webhook_registrations (next_attempt_at)
    where state <> 'registered';

-- A reconciliation pass is a job of the bootstrap machinery in mode 'reconcile': the same units
-- read the same pages, and compare them with the copy. Time entries are read from Clockify's
-- change feeds over [feed_start, feed_end] when the pass has a baseline.
alter table bootstrap_jobs add column mode text not null default 'bootstrap'
    check (mode in ('bootstrap', 'reconcile'));
alter table bootstrap_jobs add column feed_start timestamptz;
alter table bootstrap_jobs add column feed_end timestamptz;
-- When a unit's first page was read: an entity it did not see is marked deleted only when the
-- copy's version is older than that.
alter table bootstrap_units add column started_at timestamptz;

alter table entities drop constraint entities_source_check;
alter table entities add constraint entities_source_check
    check (source in ('webhook', 'bootstrap', 'reconcile'));

-- The ids a pass's unit saw, until the pass ends.
create table reconcile_seen (
    job_id     uuid not null references bootstrap_jobs (id) on delete cascade,
    unit_key   text not null,
    entity_id  text not null,
    primary key (job_id, unit_key, entity_id)
);

-- What each pass changed, per kind.
create table reconcile_changes (
    job_id        uuid not null references bootstrap_jobs (id) on delete cascade,
    workspace_id  text not null,
    kind          text not null,
    change        text not null check (change in ('added', 'updated', 'deleted')),
    count         bigint not null default 0,
    primary key (job_id, kind, change)
);
