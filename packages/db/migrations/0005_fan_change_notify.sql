-- Live updates (issue #15): every transaction that bumps a fan's version tells the API processes
-- listening on `fan_changes`, through pg_notify in that same transaction. PostgreSQL delivers a
-- notification only when its transaction commits (never on rollback), so a poke never names a version
-- that does not exist. The payload is a poke, not data (about 100 bytes, far below the 8000-byte
-- limit): listeners tell subscribers to pull the delta through the normal, authorized sync.
CREATE FUNCTION "fan_changes_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify(
		'fan_changes',
		json_build_object('accountId', NEW.account_id, 'fanId', NEW.fan_id, 'version', NEW.version)::text
	);
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "fans_notify_change" AFTER UPDATE OF "version" ON "fans"
	FOR EACH ROW WHEN (NEW.version <> OLD.version) EXECUTE FUNCTION "fan_changes_notify"();
