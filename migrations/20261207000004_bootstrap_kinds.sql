-- Every kind a bootstrap imports is a unit; a kind the workspace's plan does not offer (Clockify
-- answers 403 or 404) ends its unit as not_available, which does not fail the job.
alter table bootstrap_units drop constraint bootstrap_units_status_check;
alter table bootstrap_units add constraint bootstrap_units_status_check
    check (status in ('pending', 'done', 'failed', 'cancelled', 'not_available'));

-- The time-off (PTO) API's base URL: the claims' ptoUrl when Clockify sends one.
alter table installations add column pto_url text;
