export * from './accounts.ts';
export * from './fans.ts';
export * from './idempotency.ts';
export * from './notes.ts';
export * from './request-budgets.ts';
export * from './sync.ts';
export * from './invites.ts';
export * from './profiles.ts';
