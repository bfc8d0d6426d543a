-- Events ingress accepted while the broker could not confirm them. The relay in the workers
-- publishes them in id order per partition and deletes each row after the broker's confirm.
create table event_outbox (
    id            bigserial primary key,
    workspace_id  text not null,
    partition     integer not null,
    message_id    uuid not null unique,
    request_id    text not null,
    body          bytea not null,
    created_at    timestamptz not null default now()
);
create index event_outbox_partition on event_outbox (partition, id);
create index event_outbox_workspace on event_outbox (workspace_id);
