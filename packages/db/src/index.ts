export * from './client.ts';
export * from './listen.ts';
export * as schema from './schema/index.ts';
export * from './schema/index.ts';
