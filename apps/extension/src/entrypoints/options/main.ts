import { browser } from 'wxt/browser';
import type { OptionsRequest, Reply } from '../../utils/messages.ts';
import { KEYS, type SyncStatus } from '../../utils/model.ts';
import { loadSettings, normalizeApiUrl, normalizeOrigin } from '../../utils/settings.ts';
import { storeReader } from '../../utils/store.ts';
import { startTeamScreen } from './team-screen.ts';

const form = document.querySelector<HTMLFormElement>('#options')!;
const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement;
const result = document.querySelector<HTMLElement>('#result')!;
const statusBox = document.querySelector<HTMLElement>('#status')!;

/** The background stores what this page decides (it is the only writer of the extension's storage). */
export async function ask(request: OptionsRequest): Promise<Reply> {
  try {
    return (
      (await browser.runtime.sendMessage<OptionsRequest, Reply | undefined>(request)) ?? {
        ok: false,
        error: 'No answer from the extension.',
      }
    );
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

const stateWords: Record<SyncStatus['state'], string> = {
  idle: 'up to date',
  syncing: 'syncing…',
  offline: 'offline',
  'signed-out': 'signed out',
  error: 'stopped',
};

function showStatus(status: SyncStatus | undefined) {
  statusBox.textContent = status
    ? `Sync: ${stateWords[status.state]}${status.message ? `. ${status.message}` : ''}`
    : 'Sync: not started yet';
}

async function init() {
  const settings = await loadSettings(storeReader);
  field('apiUrl').value = settings.apiUrl;
  field('appOrigin').value = settings.appOrigin;
  field('devToken').value = settings.devToken;
  showStatus(await storeReader.get<SyncStatus>(KEYS.status));
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
      const reply = await ask({
        type: 'settings-save',
        settings: { apiUrl, appOrigin, devToken: field('devToken').value },
      });
      result.textContent = !reply.ok
        ? reply.error
        : granted
          ? 'Saved.'
          : 'Saved, but without permission to reach these sites: sync cannot run.';
    });
});

storeReader.watch<SyncStatus>(KEYS.status, showStatus);
void init();
startTeamScreen(document.querySelector<HTMLElement>('#team-root')!, ask);
