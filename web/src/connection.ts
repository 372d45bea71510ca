// Whether the backend can be reached, as the task screen last found out:
// the live stream and every call report to it, and the banner, the list and
// the add form follow it (actions wait or say so while offline, and what
// waited goes out once the connection is back).

export class Connection {
  private state = false;
  private readonly listeners = new Set<(offline: boolean) => void>();

  get offline(): boolean {
    return this.state;
  }

  /** Records what a call or the stream found; listeners hear only of changes. */
  set(offline: boolean): void {
    if (offline === this.state) return;
    this.state = offline;
    for (const listener of this.listeners) listener(offline);
  }

  /** Calls `listener` on every change; returns how to stop. */
  onChange(listener: (offline: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** What a user reads when an action cannot be done because the backend cannot be reached. */
export const OFFLINE_ACTION = "You are offline: nothing was changed. Try again once the connection is back.";
