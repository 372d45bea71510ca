// The signed-in session: tokens kept in storage so a reload stays signed in,
// and an access token refreshed before it expires. Refresh tokens work once,
// so concurrent refreshes are merged into one.
import { Code, ConnectError } from "@connectrpc/connect";

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch when the access token expires. */
  expiresAt: number;
  email: string;
}

export type Refresher = (refreshToken: string) => Promise<Tokens>;

const KEY = "todo.session";
/** Refresh this long before the access token expires. */
const MARGIN_MS = 60_000;

export class Session {
  private refreshing: Promise<Tokens> | undefined;

  constructor(
    private readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem">,
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

  clear(): void {
    this.storage.removeItem(KEY);
  }

  /** A usable access token, refreshed first when it is about to expire. */
  async accessToken(): Promise<string | undefined> {
    const tokens = this.tokens;
    if (!tokens) return undefined;
    if (tokens.expiresAt - MARGIN_MS > this.now()) return tokens.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Trades the refresh token for new tokens; concurrent callers share one call. */
  refresh(): Promise<Tokens> {
    if (!this.refreshing) {
      const tokens = this.tokens;
      if (!tokens) return Promise.reject(new ConnectError("not signed in", Code.Unauthenticated));
      this.refreshing = this.refresher(tokens.refreshToken)
        .then((fresh) => {
          this.save(fresh);
          return fresh;
        })
        .catch((error: unknown) => {
          if (error instanceof ConnectError && error.code === Code.Unauthenticated) this.clear();
          throw error;
        })
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    return this.refreshing;
  }

  /** Runs `call` with a token; on UNAUTHENTICATED refreshes once and retries. */
  async withToken<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await this.accessToken();
    if (!token) throw new ConnectError("not signed in", Code.Unauthenticated);
    try {
      return await call(token);
    } catch (error) {
      if (!(error instanceof ConnectError) || error.code !== Code.Unauthenticated) throw error;
      const fresh = await this.refresh();
      return call(fresh.accessToken);
    }
  }
}
