import { detectFan, pageRefOf, type DetectedFan } from './detect-fan.ts';
import type { ObserverMessage } from './messages.ts';
import type { OnlyFansCreator } from './model.ts';
import { mergeUser, type ObservedUser } from './onlyfans-json.ts';

/**
 * Which fan the page shows, kept current from the URL (OnlyFans navigates without reloading) and from
 * every user OnlyFans' JSON has shown. OnlyFans caches users, so moving between chats does not always
 * refetch one: every user seen is kept, and the fan is taken from the URL. `onChange` is called when
 * the fan, anything known about them, or the logged-in creator changes.
 */
export class FanTracker {
  private readonly users = new Map<string, ObservedUser>();
  private me: ObservedUser | null = null;
  private fan: DetectedFan | null = null;
  private key = 'null';

  constructor(
    private href: string,
    private readonly onChange: (fan: DetectedFan | null, creator: OnlyFansCreator | null) => void,
  ) {}

  observe(message: ObserverMessage): void {
    if (message.kind === 'navigation') {
      this.href = message.href;
    } else {
      for (const user of message.users) this.users.set(user.id, mergeUser(this.users.get(user.id), user));
      if (message.me) this.me = this.users.get(message.me.id) ?? message.me;
    }
    this.update();
  }

  setHref(href: string): void {
    if (href === this.href) return;
    this.href = href;
    this.update();
  }

  get current(): DetectedFan | null {
    return this.fan;
  }

  get creator(): OnlyFansCreator | null {
    if (!this.me) return null;
    return this.me.username ? { id: this.me.id, username: this.me.username } : { id: this.me.id };
  }

  private update(): void {
    const fan = detectFan(pageRefOf(this.href), this.users, this.me?.id ?? null);
    // The creator is part of what the background needs (to register a fan), so learning it counts.
    const key = JSON.stringify([fan, this.creator]);
    if (key === this.key) return;
    this.key = key;
    this.fan = fan;
    this.onChange(fan, this.creator);
  }
}
