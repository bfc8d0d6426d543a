-- The event pipeline's schema. Every table carries workspace_id and every query filters by it.

-- One row per workspace that ever installed the add-on; a deleted installation keeps its row
-- (tokens erased) so that late callbacks of an old addonId can be recognised and ignored.
create table installations (
    workspace_id      text primary key,
    addon_id          text not null,
    status            text not null default 'ACTIVE' check (status in ('ACTIVE', 'INACTIVE')),
    deleted_at        timestamptz,
    addon_user_id     text,
    as_user           text,
    api_url           text,
    backend_url       text,
    reports_url       text,
    locations_url     text,
    screenshots_url   text,
    -- AES-256-GCM, bound to workspace_id; null once the installation is deleted.
    sealed_auth_token text,
    settings          jsonb not null default '[]'::jsonb,
    installed_at      timestamptz not null default now(),
    updated_at        timestamptz not null default now()
);

-- The per-webhook tokens of the current installation, as SHA-256 hex.
create table webhook_tokens (
    workspace_id  text not null references installations (workspace_id) on delete cascade,
    addon_id      text not null,
    path          text not null,
    webhook_type  text,
    token_sha256  text not null,
    primary key (workspace_id, token_sha256, path)
);

-- Every message a worker handled: lifecycle callbacks and webhooks, with what became of it.
-- The primary key makes a redelivered message a no-op.
create table event_log (
    workspace_id  text not null,
    message_id    uuid not null,
    source        text not null check (source in ('lifecycle', 'webhook')),
    event_type    text not null,
    entity_kind   text,
    entity_id     text,
    outcome       text not null check (outcome in ('applied', 'duplicate', 'rejected', 'ignored')),
    reason        text,
    request_id    text not null,
    accepted_at   timestamptz not null,
    processed_at  timestamptz not null default now(),
    body_sha256   text,
    payload       jsonb,
    primary key (workspace_id, message_id)
);
create index event_log_entity on event_log (workspace_id, entity_kind, entity_id);
create index event_log_accepted on event_log (workspace_id, accepted_at);

-- The workspace's entities, written by webhooks and bootstraps alike. A row is replaced only by
-- an observation at least as new as the one it holds; deletions are marked, not removed.
create table entities (
    workspace_id     text not null,
    kind             text not null,
    entity_id        text not null,
    data             jsonb not null,
    deleted          boolean not null default false,
    body_sha256      text not null,
    source           text not null check (source in ('webhook', 'bootstrap')),
    observed_at      timestamptz not null,
    last_message_id  uuid,
    updated_at       timestamptz not null default now(),
    name             text generated always as (data ->> 'name') stored,
    project_id       text generated always as (data ->> 'projectId') stored,
    user_id          text generated always as (data ->> 'userId') stored,
    primary key (workspace_id, kind, entity_id)
);
create index entities_project on entities (workspace_id, project_id) where project_id is not null;
create index entities_user on entities (workspace_id, user_id) where user_id is not null;
