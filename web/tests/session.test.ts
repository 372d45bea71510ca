// Tokens kept across reloads, refreshed before they expire, and the session's end.
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { Session, type Tokens } from "../src/session";
import { memoryStorage as memory } from "./support/storage";


const tokens = (n: number, expiresAt: number): Tokens => ({ accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresAt, email: "ada@example.com" });

describe("session", () => {
  it("uses the stored token while it is fresh", async () => {
    const refresher = vi.fn();
    const session = new Session(memory(), refresher, () => 0);
    session.save(tokens(1, 10 * 60_000));
    expect(await session.accessToken()).toBe("access-1");
    expect(refresher).not.toHaveBeenCalled();
  });

  it("refreshes before expiry and keeps the rotated refresh token", async () => {
    const refresher = vi.fn(async (refresh: string) => (refresh === "refresh-1" ? tokens(2, 1e12) : Promise.reject(new Error("reused"))));
    const session = new Session(memory(), refresher, () => 1_000);
    session.save(tokens(1, 30_000)); // within the one-minute margin
    expect(await session.accessToken()).toBe("access-2");
    expect(session.tokens?.refreshToken).toBe("refresh-2");
  });

  it("merges concurrent refreshes into one call, since a refresh token works once", async () => {
    let calls = 0;
    const refresher = vi.fn(async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return tokens(2, 1e12);
    });
    const session = new Session(memory(), refresher, () => 1_000);
    session.save(tokens(1, 0));
    const all = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()]);
    expect(all).toEqual(["access-2", "access-2", "access-2"]);
    expect(calls).toBe(1);
  });

  it("ends the session when the refresh token is refused, and says so", async () => {
    const session = new Session(memory(), async () => Promise.reject(new ConnectError("revoked", Code.Unauthenticated)), () => 0);
    const ended = vi.fn();
    session.onEnded(ended);
    session.save(tokens(1, 0));
    await expect(session.accessToken()).rejects.toThrow();
    expect(session.tokens).toBeUndefined();
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it("keeps the session when the refresh fails for want of a connection", async () => {
    const session = new Session(memory(), async () => Promise.reject(new ConnectError("upstream", Code.Unavailable)), () => 0);
    const ended = vi.fn();
    session.onEnded(ended);
    session.save(tokens(1, 0));
    await expect(session.accessToken()).rejects.toThrow();
    expect(session.tokens?.refreshToken).toBe("refresh-1");
    expect(ended).not.toHaveBeenCalled();
  });

  it("signs out quietly, handing back the tokens to end on the server", () => {
    const session = new Session(memory(), vi.fn(), () => 0);
    const ended = vi.fn();
    session.onEnded(ended);
    session.save(tokens(1, 1e12));
    expect(session.signOut()?.accessToken).toBe("access-1");
    expect(session.tokens).toBeUndefined();
    expect(ended).not.toHaveBeenCalled();
  });
});
