-- Each webhook token proves deliveries of one event only: the event its path receives (manifest
-- webhooks of INSTALLED) or the event it was registered for (webhooks made through the API).
alter table webhook_tokens add column event_type text;
update webhook_tokens
set event_type = case
    when clockify_webhook_id is not null then webhook_type
    else upper(replace(substring(path from '/webhooks/([a-z-]+)/?$'), '-', '_'))
end;

-- When Clockify's latest applied lifecycle callback was accepted: an older one (a replay from the
-- dead letters, say) never resurrects an uninstalled installation or overwrites a newer one.
alter table installations add column lifecycle_at timestamptz;
update installations set lifecycle_at = updated_at;
