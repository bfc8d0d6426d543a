-- A staged batch of webhooks is written by one statement that writes all of it or nothing. Its
-- log insert skips ids already logged (ON CONFLICT DO NOTHING), and this function, given how many
-- rows that insert took and how many it was given, ends the statement with SQLSTATE SR001 when
-- any was skipped: the statement's entity writes go with it, and the worker takes its careful
-- path (a redelivery). Found by the insert itself, with no read of the log before it, so the
-- statement's plan has no index to choose between.
create function studio_batch_fully_logged(inserted bigint, expected integer) returns boolean
language plpgsql
as $$
begin
    if inserted < expected then
        raise exception 'a message of this batch is logged already (a redelivery)'
            using errcode = 'SR001';
    end if;
    return true;
end
$$;
