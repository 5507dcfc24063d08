-- Live updates (issue #15): the pokes leave the writing transaction. A transaction that calls
-- pg_notify takes PostgreSQL's one notification lock at commit and holds it through its WAL flush
-- (async.c, PreCommit_Notify: "Serialize writers by acquiring a special lock that we hold till after
-- commit"), so every note write of the cluster committed one at a time: on the bench machine, 10
-- connections committed 0.57x as many such writes per second with the trigger as without it. The API
-- now sends the pokes itself after the commit, a few milliseconds' worth in one statement that does
-- not wait for a flush (packages/db/src/notify.ts).
DROP TRIGGER IF EXISTS "fans_notify_change" ON "fans";
--> statement-breakpoint
DROP FUNCTION IF EXISTS "fan_changes_notify"();
