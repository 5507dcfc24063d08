CREATE TABLE "accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"only_fans_user_id" text NOT NULL,
	"username" text NOT NULL,
	"created_by" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "accounts_only_fans_user_id_unique" UNIQUE("only_fans_user_id")
);
--> statement-breakpoint
CREATE TABLE "memberships" (
	"account_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "memberships_account_id_user_id_pk" PRIMARY KEY("account_id","user_id"),
	CONSTRAINT "memberships_role_check" CHECK ("memberships"."role" in ('owner', 'manager', 'chatter', 'viewer'))
);
--> statement-breakpoint
CREATE TABLE "fans" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"fan_id" text NOT NULL,
	"username" text,
	"name" text,
	"version" bigint DEFAULT 0 NOT NULL,
	"purged_through_version" bigint DEFAULT 0 NOT NULL,
	"last_full_sync_at" timestamp with time zone,
	"only_fans_snapshot_digest" text,
	"last_forced_sync_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "fans_account_fan_unique" UNIQUE("account_id","fan_id")
);
--> statement-breakpoint
CREATE TABLE "notes" (
	"id" text PRIMARY KEY NOT NULL,
	"fan_row_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"content" text NOT NULL,
	"type" text DEFAULT 'personal' NOT NULL,
	"color" text,
	"is_pinned" boolean DEFAULT false NOT NULL,
	"source" text DEFAULT 'onlyautomator' NOT NULL,
	"only_fans_note_id" text,
	"imported_content" text,
	"conflict_of" text,
	"version" bigint NOT NULL,
	"content_version" bigint NOT NULL,
	"content_client_id" uuid,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_by" uuid,
	"updated_by" uuid,
	CONSTRAINT "notes_type_check" CHECK ("notes"."type" in ('personal', 'preferences', 'payment', 'content', 'other')),
	CONSTRAINT "notes_source_check" CHECK ("notes"."source" in ('onlyautomator', 'onlyfans')),
	CONSTRAINT "notes_color_check" CHECK ("notes"."color" is null or "notes"."color" ~ '^#[0-9A-F]{6}$')
);
--> statement-breakpoint
CREATE TABLE "sync_clients" (
	"client_id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"last_mutation_id" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sync_leases" (
	"fan_row_id" uuid PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"acquired_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fans" ADD CONSTRAINT "fans_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notes" ADD CONSTRAINT "notes_fan_row_id_fans_id_fk" FOREIGN KEY ("fan_row_id") REFERENCES "public"."fans"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notes" ADD CONSTRAINT "notes_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_leases" ADD CONSTRAINT "sync_leases_fan_row_id_fans_id_fk" FOREIGN KEY ("fan_row_id") REFERENCES "public"."fans"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "memberships_user_id_idx" ON "memberships" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "fans_fan_id_idx" ON "fans" USING btree ("fan_id");--> statement-breakpoint
CREATE INDEX "notes_fan_version_idx" ON "notes" USING btree ("fan_row_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "notes_fan_only_fans_note_unique" ON "notes" USING btree ("fan_row_id","only_fans_note_id") WHERE "notes"."only_fans_note_id" is not null;