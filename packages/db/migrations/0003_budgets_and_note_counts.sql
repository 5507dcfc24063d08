CREATE TABLE "request_budgets" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"tokens" double precision NOT NULL,
	"last_grant" integer NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "fans" ADD COLUMN "live_note_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Fans written before the count existed: counted once here, kept by every write from now on.
UPDATE "fans" SET "live_note_count" = (
	SELECT count(*) FROM "notes" WHERE "notes"."fan_row_id" = "fans"."id" AND "notes"."deleted_at" IS NULL
);
