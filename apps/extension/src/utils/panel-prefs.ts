import { storage } from 'wxt/utils/storage';

/**
 * Whether the chatter folded the panel into its edge tab. Written by the panel itself (a preference
 * of the page's UI, not synced data), read by every tab, so folding it once keeps it folded.
 */
export const panelCollapsed = storage.defineItem<boolean>('local:panelCollapsed', {
  fallback: false,
  version: 1,
});
