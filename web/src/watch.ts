// Keeps a WatchTasks stream open: reports it connected once the server has
// answered (so it is subscribed), reconnects with exponential backoff when it
// drops, and asks for a re-sync each time it is back (events may have been missed).
import { Code, type Client, ConnectError } from "@connectrpc/connect";
import { type TaskEvent, type TaskService } from "./gen/todo/task/v1/task_pb";

export interface WatchHandlers {
  onEvent(event: TaskEvent): void;
  /** The stream is (re)connected: re-list to catch up on what was missed. */
  onConnected(): void;
  onDisconnected(): void;
}

export interface WatchOptions {
  /** The first wait before reconnecting; it doubles on each failure in a row. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Waits `ms`, or less when `signal` aborts (injectable for tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Watches until the returned function is called. */
export function watchTasks(
  client: Pick<Client<typeof TaskService>, "watchTasks">,
  handlers: WatchHandlers,
  { firstDelayMs = 500, maxDelayMs = 10_000, sleep = abortableSleep }: WatchOptions = {},
): () => void {
  const controller = new AbortController();
  const { signal } = controller;
  void (async () => {
    let delay = firstDelayMs;
    while (!signal.aborted) {
      let opened = false;
      try {
        const stream = client.watchTasks({}, {
          signal,
          timeoutMs: 0,
          onHeader: () => {
            opened = true;
            delay = firstDelayMs;
            handlers.onConnected();
          },
        });
        for await (const message of stream) {
          if (message.event) handlers.onEvent(message.event);
        }
      } catch (error) {
        if (signal.aborted) return;
        // The token of an open stream expired and the session was refreshed
        // meanwhile: reconnect at once instead of reporting an outage.
        if (opened && error instanceof ConnectError && error.code === Code.Unauthenticated) continue;
      }
      if (signal.aborted) return;
      handlers.onDisconnected();
      await sleep(delay, signal);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  })();
  return () => controller.abort();
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
