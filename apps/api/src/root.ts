import { accountsRouter } from './routers/accounts.ts';
import { fansRouter } from './routers/fans.ts';
import { invitesRouter } from './routers/invites.ts';
import { notesRouter } from './routers/notes.ts';
import { profileRouter } from './routers/profile.ts';
import { createCallerFactory, router } from './trpc.ts';

export const appRouter = router({
  notes: notesRouter,
  accounts: accountsRouter,
  fans: fansRouter,
  invites: invitesRouter,
  profile: profileRouter,
});

/** The router's type: all the extension imports from the API (`import type`). */
export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
