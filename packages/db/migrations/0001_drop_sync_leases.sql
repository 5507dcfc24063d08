-- A fan's sync lease is now a transaction-scoped advisory lock (apps/api/src/services/lease.ts): the
-- database releases it when the full sync's transaction ends, also when the process holding it dies.
DROP TABLE "sync_leases" CASCADE;
