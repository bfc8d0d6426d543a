-- Webhooks registered through the webhooks API that an uninstall must delete. The installation's
-- token stays sealed here only until the deletion job has tried, then the row is removed.
create table webhook_deletions (
    workspace_id         text not null,
    clockify_webhook_id  text not null,
    sealed_auth_token    text not null,
    backend_url          text not null,
    created_at           timestamptz not null default now(),
    primary key (workspace_id, clockify_webhook_id)
);
