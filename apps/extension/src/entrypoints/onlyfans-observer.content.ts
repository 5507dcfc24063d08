import { defineContentScript } from 'wxt/utils/define-content-script';
import { installObserver } from '../utils/observer.ts';

// In the page's own world, before OnlyFans' app starts: reads what the app fetches (see observer.ts).
export default defineContentScript({
  matches: ['https://onlyfans.com/*'],
  world: 'MAIN',
  runAt: 'document_start',
  main() {
    installObserver(window);
  },
});
