export * from './conflict.ts';
export * from './cursor.ts';
export * from './merge.ts';
export * from './ordering.ts';
export * from './plan.ts';
export * from './sequence.ts';
export * from './throttle.ts';
export * from './apply.ts';
