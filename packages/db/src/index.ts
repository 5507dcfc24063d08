export { migrationsFolder } from './migrate.ts';
export * from './open.ts';
export { pipelinedTransaction, type LastStatement } from './pipelined-transaction.ts';
export { withQueryCount, type QueryCount } from './query-count.ts';
export * from './listen.ts';
export * from './notify.ts';
export * as schema from './schema/index.ts';
export * from './schema/index.ts';
