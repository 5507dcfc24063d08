import { defineConfig } from 'wxt';

// The unpacked extension is built into .output/chrome-mv3/ (`pnpm build` at the root).
export default defineConfig({
  srcDir: 'src',
  // Explicit imports everywhere: what a file uses is written in it, and lint sees it.
  imports: false,
  manifest: {
    name: 'FanNotes Sync',
    description: 'CRM notes about a fan, beside their chat and profile on onlyfans.com.',
    permissions: ['storage', 'alarms', 'cookies'],
    // Local development APIs work without asking; any other API or sign-in origin is requested from
    // the options page when it is saved (a user gesture), so the install prompt stays small.
    host_permissions: ['http://127.0.0.1/*', 'http://localhost/*'],
    optional_host_permissions: ['https://*/*', 'http://*/*'],
  },
});
