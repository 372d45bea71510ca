// The signed-in session: tokens kept in storage so a reload stays signed in,
// an access token refreshed before it expires (refresh tokens work once, so
// concurrent refreshes are merged into one), and word to listeners when the
// server has ended the session.
import { Code, ConnectError } from "@connectrpc/connect";

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch when the access token expires. */
  expiresAt: number;
  email: string;
}

export type Refresher = (refreshToken: string) => Promise<Tokens>;

export type TokenStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

const KEY = "todo.session";
/** Refresh this long before the access token expires. */
const MARGIN_MS = 60_000;

export class Session {
  private refreshing: Promise<Tokens> | undefined;
  private readonly endedListeners = new Set<() => void>();

  constructor(
    private readonly storage: TokenStorage,
    private readonly refresher: Refresher,
    private readonly now: () => number = Date.now,
  ) {}

  get tokens(): Tokens | undefined {
    const raw = this.storage.getItem(KEY);
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as Tokens;
    } catch {
      return undefined;
    }
  }

  save(tokens: Tokens): void {
    this.storage.setItem(KEY, JSON.stringify(tokens));
  }

  /** Forgets the tokens because the user signed out; returns them for the logout call. */
  signOut(): Tokens | undefined {
    const tokens = this.tokens;
    this.storage.removeItem(KEY);
    return tokens;
  }

  /** The server refused the session for good (or it is gone): forget it and tell the listeners. */
  end(): void {
    this.storage.removeItem(KEY);
    for (const listener of this.endedListeners) listener();
  }

  /** Calls `listener` each time the server ends the session; returns how to stop listening. */
  onEnded(listener: () => void): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  /** A usable access token, refreshed first when it is about to expire. */
  async accessToken(): Promise<string | undefined> {
    const tokens = this.tokens;
    if (!tokens) return undefined;
    if (tokens.expiresAt - MARGIN_MS > this.now()) return tokens.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Trades the refresh token for new tokens; concurrent callers share one call. A refused refresh token, or none left, ends the session. */
  refresh(): Promise<Tokens> {
    if (!this.refreshing) {
      const tokens = this.tokens;
      if (!tokens) {
        // Signed out meanwhile (perhaps in another tab): nothing is left to refresh.
        this.end();
        return Promise.reject(new ConnectError("not signed in", Code.Unauthenticated));
      }
      this.refreshing = this.refresher(tokens.refreshToken)
        .then((fresh) => {
          this.save(fresh);
          return fresh;
        })
        .catch((error: unknown) => {
          if (error instanceof ConnectError && error.code === Code.Unauthenticated) this.end();
          throw error;
        })
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    return this.refreshing;
  }
}
