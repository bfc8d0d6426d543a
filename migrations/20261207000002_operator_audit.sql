-- What operators did through the admin API: who, what, on what, when, the request id, and how
-- it ended. Appended to, never updated.
create table operator_audit (
    id          bigserial primary key,
    at          timestamptz not null default now(),
    actor       text not null,
    action      text not null,
    target      text,
    request_id  text not null,
    outcome     text not null,
    detail      jsonb
);
create index operator_audit_at on operator_audit (at);
