-- API Studio calls run with the viewer's own user token instead of the installation token.
-- The token is sealed (AES-256-GCM, bound to the workspace) while the call waits, with its
-- expiry, and erased when the call ends, whatever the outcome.
alter table api_calls
    add column sealed_user_token text,
    add column user_token_expires_at timestamptz,
    add column error_code text;

-- The per-workspace cap counts a workspace's queued and running calls on every POST.
create index api_calls_pending on api_calls (workspace_id) where status in ('queued', 'running');

-- Results stored before secret fields were redacted may hold webhook tokens or other secrets:
-- those that mention a secret-like field are dropped (the call record itself stays).
update api_calls
set response_body = null
where response_body is not null
  and response_body::text ~* '(token|secret|password|passwd|api_?key|credential)[a-z_-]*\\?"\s*:';
