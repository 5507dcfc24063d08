import {
  DEFAULT_INVITE_HOURS,
  MAX_INVITE_USES,
  type Account,
  type CreatedInvite,
  type Invite,
  type Member,
  type Profile,
  type Role,
} from '@fannotes/contract';
import { browser } from 'wxt/browser';
import { chooseAccount } from '../../utils/account-choice.ts';
import { createTeamApi, type TeamApi } from '../../utils/api-client.ts';
import type { OptionsRequest, Reply } from '../../utils/messages.ts';
import { KEYS, type OnlyFansCreator } from '../../utils/model.ts';
import { currentSession } from '../../utils/session.ts';
import { loadSettings } from '../../utils/settings.ts';
import { storeReader } from '../../utils/store.ts';
import {
  assignableRoles,
  canManage,
  canRevoke,
  expiryChoices,
  inviteSummary,
  memberControls,
  readInviteText,
  roleHelp,
  roleLabels,
  teamErrorMessage,
} from '../../utils/team.ts';

/**
 * The Team screen: your accounts and your role on each, their members (names, roles), invites, joining
 * with a code, your display name, and which agency this browser works in when you belong to several
 * for the logged-in OnlyFans creator. It calls the API itself, with the same session as the
 * background (utils/session.ts); what the extension stores goes through the background (`ask`).
 * Every action re-reads what it changed from the API, so the screen shows the server's truth.
 */
export function startTeamScreen(root: HTMLElement, ask: (request: OptionsRequest) => Promise<Reply>): void {
  const state = {
    api: null as TeamApi | null,
    userId: '',
    signedOut: null as string | null,
    profile: null as Profile | null,
    accounts: [] as Account[],
    /** Members per account (also names each agency by its owners). */
    members: new Map<string, Member[]>(),
    invites: new Map<string, Invite[]>(),
    selected: null as string | null,
    /** The invite just created, per account: its code is shown this once. */
    created: new Map<string, CreatedInvite>(),
    creator: undefined as OnlyFansCreator | undefined,
    chosen: {} as Record<string, string>,
    editingName: false,
    confirming: null as string | null,
    errors: new Map<string, string>(),
    notices: new Map<string, string>(),
    loading: true,
  };

  /** Runs an action, showing its failure in plain words where it happened, then re-renders. */
  const act = async (where: string, work: () => Promise<void>) => {
    state.errors.delete(where);
    state.notices.delete(where);
    try {
      await work();
    } catch (error) {
      state.errors.set(where, teamErrorMessage(error));
    }
    render();
  };

  async function load() {
    state.loading = true;
    const settings = await loadSettings(storeReader);
    const session = await currentSession(settings, (url) => browser.cookies.getAll({ url }), Date.now());
    state.creator = await storeReader.get<OnlyFansCreator>(KEYS.creator);
    state.chosen = (await storeReader.get<Record<string, string>>(KEYS.accounts)) ?? {};
    if (!session.ok) {
      state.signedOut = session.message;
      state.api = null;
      state.loading = false;
      return render();
    }
    state.signedOut = null;
    state.userId = session.userId;
    state.api = createTeamApi(settings.apiUrl, () => Promise.resolve(session.token));
    await act('page', async () => {
      const [profile, accounts] = await Promise.all([state.api!.profile(), state.api!.accounts()]);
      state.profile = profile;
      state.accounts = accounts;
      if (!accounts.some((account) => account.id === state.selected))
        state.selected = accounts[0]?.id ?? null;
      await Promise.all(accounts.map((account) => loadAccount(account.id)));
    });
    state.loading = false;
    render();
  }

  async function loadAccount(accountId: string) {
    const api = state.api!;
    const account = state.accounts.find((candidate) => candidate.id === accountId);
    const [members, invites] = await Promise.all([
      api.members(accountId),
      account && canManage(account.role) ? api.invites(accountId) : Promise.resolve([]),
    ]);
    state.members.set(accountId, members);
    state.invites.set(accountId, invites);
  }

  /** "@jane · Ana's team": an account named so that two agencies of one creator can be told apart. */
  const accountName = (account: Account) => {
    const owners = (state.members.get(account.id) ?? [])
      .filter((member) => member.role === 'owner')
      .map((member) => (member.userId === state.userId ? 'you' : member.displayName));
    return `@${account.username}${owners.length ? ` · owned by ${owners.join(', ')}` : ''}`;
  };

  function render() {
    root.replaceChildren();
    if (state.signedOut !== null) {
      root.append(
        el('div', { className: 'card' }, [
          el('p', {}, ['Sign in to see your team. ', state.signedOut]),
          el('p', { className: 'hint' }, ['Then reload this page.']),
        ]),
      );
      return;
    }
    if (state.loading && !state.profile) {
      root.append(el('p', { className: 'muted' }, ['Loading your team…']));
      return;
    }
    root.append(
      noticeLine('page'),
      errorLine('page'),
      renderYou(),
      ...renderChoice(),
      renderAccounts(),
      renderJoin(),
    );
  }

  function renderYou(): HTMLElement {
    const name = state.profile?.displayName ?? '';
    if (!state.editingName) {
      return el('div', { className: 'card', id: 'you' }, [
        el('div', { className: 'row' }, [
          el('span', {}, ['Signed in as ', el('strong', { className: 'display-name' }, [name])]),
          button('Change your name', () => {
            state.editingName = true;
            render();
            root.querySelector<HTMLInputElement>('#display-name')?.focus();
          }),
        ]),
        el('span', { className: 'hint' }, ['Teammates see this name on the notes you write.']),
        noticeLine('you'),
        errorLine('you'),
      ]);
    }
    const input = el('input', { id: 'display-name', type: 'text', value: name, maxLength: 80 });
    input.setAttribute('aria-label', 'Your name');
    return el(
      'form',
      { className: 'card', id: 'you' },
      [
        el('div', { className: 'row' }, [
          input,
          el('button', { type: 'submit', className: 'primary' }, ['Save name']),
          button('Cancel', () => {
            state.editingName = false;
            state.errors.delete('you');
            render();
          }),
        ]),
        errorLine('you'),
      ],
      (form) =>
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          const displayName = input.value.trim();
          if (!displayName) {
            state.errors.set('you', 'Enter the name your teammates should see.');
            return render();
          }
          void act('you', async () => {
            state.profile = await state.api!.setDisplayName(displayName);
            state.editingName = false;
            state.notices.set('you', 'Saved. Your notes show this name from now on.');
            // Your row in every member list shows the new name.
            await Promise.all(state.accounts.map((account) => loadAccount(account.id)));
          });
        }),
    );
  }

  /** When you belong to several agencies of the creator logged in on OnlyFans: which one this browser uses. */
  function renderChoice(): HTMLElement[] {
    const creator = state.creator;
    if (!creator) return [];
    const choice = chooseAccount(state.accounts, creator.id, state.chosen[creator.id]);
    const candidates = state.accounts.filter((account) => account.onlyFansUserId === creator.id);
    if (candidates.length < 2) return [];
    const current = choice.kind === 'use' ? choice.account.id : null;
    return [
      el('div', { className: `card choice`, id: 'agency-choice' }, [
        el('h3', {}, [`Which agency do you work for on @${creator.username ?? creator.id}?`]),
        el('p', { className: 'hint' }, [
          current
            ? 'Notes you write on OnlyFans in this browser go to the agency chosen here.'
            : 'You belong to several agencies that manage this creator. Choose one: until then, FanNotes does not know where to save your notes.',
        ]),
        ...candidates.map((account) =>
          el('label', { className: 'row' }, [
            el(
              'input',
              {
                type: 'radio',
                name: 'agency',
                value: account.id,
                checked: account.id === current,
              },
              [],
              (radio) =>
                radio.addEventListener(
                  'change',
                  () =>
                    void act('choice', async () => {
                      const reply = await ask({
                        type: 'account-choose',
                        creatorId: creator.id,
                        accountId: account.id,
                      });
                      if (!reply.ok) throw new Error(reply.error);
                      state.chosen = { ...state.chosen, [creator.id]: account.id };
                      state.notices.set(
                        'choice',
                        'Saved. Go back to OnlyFans: your notes now sync with this agency.',
                      );
                    }),
                ),
            ),
            el('span', {}, [
              accountName(account),
              el('span', { className: 'you' }, [`you: ${roleLabels[account.role]}`]),
            ]),
          ]),
        ),
        noticeLine('choice'),
        errorLine('choice'),
      ]),
    ];
  }

  function renderAccounts(): HTMLElement {
    if (state.accounts.length === 0) {
      return el('div', { className: 'card', id: 'accounts' }, [
        el('p', {}, ['You are not in any team yet.']),
        el('p', { className: 'hint' }, [
          'Open your OnlyFans page with FanNotes to register your creator account (you become its owner), or join a team with an invite below.',
        ]),
      ]);
    }
    const account = state.accounts.find((candidate) => candidate.id === state.selected) ?? state.accounts[0]!;
    const picker = el(
      'select',
      { id: 'account' },
      state.accounts.map((candidate) =>
        el('option', { value: candidate.id, selected: candidate.id === account.id }, [
          `${accountName(candidate)} — you: ${roleLabels[candidate.role]}`,
        ]),
      ),
      (select) =>
        select.addEventListener('change', () => {
          state.selected = select.value;
          state.confirming = null;
          render();
        }),
    );
    picker.setAttribute('aria-label', 'Account');
    return el('div', { className: 'card', id: 'accounts' }, [
      el('div', { className: 'row' }, [
        el('strong', {}, [state.accounts.length > 1 ? 'Account' : `@${account.username}`]),
        ...(state.accounts.length > 1 ? [picker] : []),
        el('span', { className: 'badge', id: 'my-role' }, [`Your role: ${roleLabels[account.role]}`]),
      ]),
      errorLine(`members:${account.id}`),
      renderMembers(account),
      ...(canManage(account.role)
        ? [renderInvites(account)]
        : [el('p', { className: 'hint' }, ['Owners and managers invite people and change roles.'])]),
    ]);
  }

  function renderMembers(account: Account): HTMLElement {
    const me = { userId: state.userId, role: account.role };
    const where = `members:${account.id}`;
    const members = state.members.get(account.id) ?? [];
    const owners = members.filter((member) => member.role === 'owner').length;
    const rows = members.map((member) => {
      const controls = memberControls(me, member, owners);
      const roleCell = controls.roles
        ? el(
            'select',
            { className: 'role' },
            controls.roles.map((role) =>
              el('option', { value: role, selected: role === member.role }, [roleLabels[role]]),
            ),
            (select) => {
              select.setAttribute('aria-label', `Role of ${member.displayName}`);
              select.addEventListener(
                'change',
                () =>
                  void act(where, async () => {
                    await state.api!.setRole({
                      accountId: account.id,
                      userId: member.userId,
                      role: select.value as Role,
                    });
                    state.notices.set(
                      where,
                      `${member.displayName} is now ${roleLabels[select.value as Role]}.`,
                    );
                    await loadAccount(account.id);
                  }).then(async () => {
                    // A refused change shows the role as it is.
                    if (state.errors.has(where)) {
                      await loadAccount(account.id).catch(() => undefined);
                      render();
                    }
                  }),
              );
            },
          )
        : el('span', { className: 'badge' }, [roleLabels[member.role]]);
      const key = `${account.id}:${member.userId}`;
      let actions: (Node | string)[] = [];
      if (controls.remove && state.confirming === key) {
        const leaving = controls.remove === 'leave';
        actions = [
          el('span', {}, [leaving ? `Leave @${account.username}? ` : `Remove ${member.displayName}? `]),
          button(
            leaving ? 'Leave' : 'Remove',
            () =>
              void act(where, async () => {
                await state.api!.removeMember({ accountId: account.id, userId: member.userId });
                state.confirming = null;
                if (leaving) {
                  state.notices.set('page', `You left @${account.username}.`);
                  return load();
                }
                state.notices.set(where, `${member.displayName} was removed.`);
                await loadAccount(account.id);
              }),
            'danger confirm',
          ),
          button('Cancel', () => {
            state.confirming = null;
            render();
          }),
        ];
      } else if (controls.remove) {
        actions = [
          button(
            controls.remove === 'leave' ? 'Leave' : 'Remove',
            () => {
              state.confirming = key;
              render();
            },
            'danger',
          ),
        ];
      }
      return el(
        'tr',
        { className: 'member' },
        [
          el('td', { className: 'name' }, [
            member.displayName,
            ...(member.userId === state.userId ? [el('span', { className: 'you' }, ['(you)'])] : []),
          ]),
          el('td', {}, [roleCell]),
          el('td', { className: 'actions' }, actions),
        ],
        (row) => row.setAttribute('data-user-id', member.userId),
      );
    });
    return el('div', {}, [
      el('h3', {}, ['Members']),
      el('table', { id: 'members' }, [
        el('thead', {}, [el('tr', {}, [el('th', {}, ['Name']), el('th', {}, ['Role']), el('th', {}, [])])]),
        el('tbody', {}, rows),
      ]),
      noticeLine(where),
    ]);
  }

  function renderInvites(account: Account): HTMLElement {
    const where = `invites:${account.id}`;
    const roleSelect = el(
      'select',
      { id: 'invite-role' },
      assignableRoles(account.role).map((role) =>
        el('option', { value: role, selected: role === 'chatter' }, [
          `${roleLabels[role]} (${roleHelp[role]})`,
        ]),
      ),
    );
    const expiry = el(
      'select',
      { id: 'invite-expiry' },
      expiryChoices.map((choice) =>
        el('option', { value: String(choice.hours), selected: choice.hours === DEFAULT_INVITE_HOURS }, [
          choice.label,
        ]),
      ),
    );
    const uses = el('input', {
      id: 'invite-uses',
      type: 'number',
      min: '1',
      max: String(MAX_INVITE_USES),
      value: '1',
    });
    uses.style.width = '5em';
    const form = el(
      'form',
      { className: 'row', id: 'invite-form' },
      [
        el('label', { className: 'row' }, ['Role ', roleSelect]),
        el('label', { className: 'row' }, ['Expires in ', expiry]),
        el('label', { className: 'row' }, ['Uses ', uses]),
        el('button', { type: 'submit', className: 'primary' }, ['Create invite']),
      ],
      (node) =>
        node.addEventListener('submit', (event) => {
          event.preventDefault();
          const maxUses = Number(uses.value);
          if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > MAX_INVITE_USES) {
            state.errors.set(where, `An invite can be used 1 to ${MAX_INVITE_USES} times.`);
            return render();
          }
          void act(where, async () => {
            const created = await state.api!.createInvite({
              accountId: account.id,
              role: roleSelect.value as Role,
              expiresInHours: Number(expiry.value),
              maxUses,
            });
            state.created.set(account.id, created);
            state.invites.set(account.id, await state.api!.invites(account.id));
          });
        }),
    );
    for (const label of form.querySelectorAll('label')) label.style.marginTop = '0';
    const created = state.created.get(account.id);
    const invites = state.invites.get(account.id) ?? [];
    return el('div', { id: 'invites' }, [
      el('h3', {}, ['Invites']),
      el('p', { className: 'hint' }, [
        'Someone joins by entering the code (or opening the link) while signed in. Only owners can invite owners.',
      ]),
      form,
      errorLine(where),
      ...(created ? [renderCreated(account, created)] : []),
      invites.length === 0
        ? el('p', { className: 'hint' }, ['No invites yet.'])
        : el('table', { id: 'invite-list' }, [
            el('thead', {}, [
              el('tr', {}, [
                el('th', {}, ['Role']),
                el('th', {}, ['Code']),
                el('th', {}, ['State']),
                el('th', {}, []),
              ]),
            ]),
            el(
              'tbody',
              {},
              invites.map((invite) =>
                el('tr', { className: `invite ${invite.status}` }, [
                  el('td', {}, [roleLabels[invite.role]]),
                  el('td', {}, [el('code', {}, [`…${invite.codeHint}`])]),
                  el('td', { className: invite.status === 'active' ? '' : 'muted' }, [
                    inviteSummary(invite, Date.now()),
                  ]),
                  el(
                    'td',
                    { className: 'actions' },
                    canRevoke(account.role, invite)
                      ? [
                          button(
                            'Revoke',
                            () =>
                              void act(where, async () => {
                                await state.api!.revokeInvite({ accountId: account.id, inviteId: invite.id });
                                if (state.created.get(account.id)?.id === invite.id)
                                  state.created.delete(account.id);
                                state.invites.set(account.id, await state.api!.invites(account.id));
                              }),
                            'danger',
                          ),
                        ]
                      : [],
                  ),
                ]),
              ),
            ),
          ]),
    ]);
  }

  function renderCreated(account: Account, invite: CreatedInvite): HTMLElement {
    const where = `created:${account.id}`;
    const copy = (text: string, what: string) => () =>
      void navigator.clipboard.writeText(text).then(
        () => {
          state.notices.set(where, `${what} copied.`);
          render();
        },
        () => {
          state.errors.set(where, 'Could not copy: select the text and copy it yourself.');
          render();
        },
      );
    return el('div', { className: 'created', id: 'created-invite' }, [
      el('strong', {}, [`Invite for a ${roleLabels[invite.role].toLowerCase()} created.`]),
      el('span', { className: 'hint' }, [
        'Send this code or link to the person you invite. It is shown only now: FanNotes keeps no copy of it.',
      ]),
      el('div', { className: 'row' }, [
        el('code', { id: 'invite-code' }, [invite.code]),
        button('Copy code', copy(invite.code, 'Code')),
      ]),
      // A link only when the API knows its public address (else it would be a path on no site).
      ...(/^https?:\/\//.test(invite.url)
        ? [
            el('div', { className: 'row' }, [
              el('code', { id: 'invite-link' }, [invite.url]),
              button('Copy link', copy(invite.url, 'Link')),
            ]),
          ]
        : []),
      el('span', { className: 'hint' }, [inviteSummary(invite, Date.now())]),
      noticeLine(where),
      errorLine(where),
      button('Done', () => {
        state.created.delete(account.id);
        render();
      }),
    ]);
  }

  function renderJoin(): HTMLElement {
    const input = el('input', { id: 'redeem-code', type: 'text', placeholder: 'FN-… or the invite link' });
    input.setAttribute('aria-label', 'Invite code or link');
    return el(
      'form',
      { className: 'card', id: 'join' },
      [
        el('h3', {}, ['Join a team']),
        el('p', { className: 'hint' }, ['Got an invite? Paste its code or link here.']),
        el('div', { className: 'row' }, [
          input,
          el('button', { type: 'submit', className: 'primary' }, ['Join']),
        ]),
        noticeLine('join'),
        errorLine('join'),
      ],
      (form) =>
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          const read = readInviteText(input.value);
          if ('error' in read) {
            state.errors.set('join', read.error);
            state.notices.delete('join');
            return render();
          }
          void act('join', async () => {
            const { account, joined } = await state.api!.redeem(read.code);
            state.notices.set(
              'join',
              joined
                ? `You joined @${account.username} as ${roleLabels[account.role]}.`
                : `You are already in @${account.username} (${roleLabels[account.role]}); nothing changed.`,
            );
            state.selected = account.id;
            await load();
          });
        }),
    );
  }

  const errorLine = (where: string) =>
    el('p', { className: 'error', role: 'alert' }, [state.errors.get(where) ?? '']);
  const noticeLine = (where: string) =>
    el('p', { className: 'notice', role: 'status' }, [state.notices.get(where) ?? '']);

  // The logged-in creator and the chosen agency change under us (the background writes them).
  storeReader.watch<OnlyFansCreator>(KEYS.creator, (creator) => {
    state.creator = creator;
    render();
  });
  storeReader.watch<Record<string, string>>(KEYS.accounts, (chosen) => {
    state.chosen = chosen ?? {};
    render();
  });
  // New settings (another API, another token): everything is read again.
  storeReader.watch(KEYS.settings, () => void load());
  void load();
}

type Props<K extends keyof HTMLElementTagNameMap> = Partial<Omit<HTMLElementTagNameMap[K], 'style'>>;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props<K>,
  children: readonly (Node | string)[] = [],
  setup?: (node: HTMLElementTagNameMap[K]) => void,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  setup?.(node);
  return node;
}

function button(label: string, onClick: () => void, className = ''): HTMLButtonElement {
  return el('button', { type: 'button', className }, [label], (node) =>
    node.addEventListener('click', onClick),
  );
}
