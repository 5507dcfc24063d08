import { defineContentScript } from 'wxt/utils/define-content-script';
import { startPanel } from '../components/panel-controller.ts';

// The CRM panel, in the extension's isolated world; it talks to the background, never to the API.
export default defineContentScript({
  matches: ['https://onlyfans.com/*'],
  runAt: 'document_start',
  main(ctx) {
    startPanel(ctx);
  },
});
