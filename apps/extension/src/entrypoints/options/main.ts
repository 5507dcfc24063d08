import { browser } from 'wxt/browser';
import { KEYS, type SyncStatus } from '../../utils/model.ts';
import { loadSettings, normalizeApiUrl, normalizeOrigin } from '../../utils/settings.ts';
import { store } from '../../utils/store.ts';

const form = document.querySelector<HTMLFormElement>('#options')!;
const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement;
const result = document.querySelector<HTMLElement>('#result')!;
const statusBox = document.querySelector<HTMLElement>('#status')!;

async function showStatus() {
  const status = await store.get<SyncStatus>(KEYS.status);
  statusBox.textContent = status
    ? `Sync: ${status.state}${status.message ? ` (${status.message})` : ''}`
    : 'Sync: not started';
}

async function init() {
  const settings = await loadSettings(store);
  field('apiUrl').value = settings.apiUrl;
  field('appOrigin').value = settings.appOrigin;
  field('devToken').value = settings.devToken;
  await showStatus();
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const apiUrl = normalizeApiUrl(field('apiUrl').value);
  const appOriginText = field('appOrigin').value.trim();
  const appOrigin = appOriginText ? normalizeOrigin(appOriginText) : '';
  if (!apiUrl || appOrigin === null) {
    result.textContent = 'Enter http(s) URLs.';
    return;
  }
  // Host permissions for the API (calls) and the app (its cookie), asked within this click.
  const origins = [`${new URL(apiUrl).origin}/*`, ...(appOrigin ? [`${appOrigin}/*`] : [])];
  void browser.permissions
    .request({ origins })
    .catch(() => false)
    .then(async (granted) => {
      await store.set({ [KEYS.settings]: { apiUrl, appOrigin, devToken: field('devToken').value.trim() } });
      result.textContent = granted
        ? 'Saved.'
        : 'Saved, but without permission to reach these sites: sync cannot run.';
    });
});

browser.storage.onChanged.addListener((changes) => {
  if (KEYS.status in changes) void showStatus();
});
void init();
