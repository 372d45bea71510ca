// The live stream's life cycle against a fake client: when it counts as
// connected, how it backs off and reconnects, and that stopping stops it.
import { create } from "@bufbuild/protobuf";
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { type TaskEvent, TaskEvent_Kind, TaskEventSchema, type WatchTasksResponse, WatchTasksResponseSchema } from "../src/gen/todo/task/v1/task_pb";
import { watchTasks } from "../src/watch";

type Item = { event: TaskEvent } | { error: ConnectError } | { end: true };

/** One WatchTasks call to the fake server, driven by the test. */
class Call {
  private readonly items: Item[] = [];
  private wake: (() => void) | undefined;

  constructor(readonly options: CallOptions) {
    options.signal?.addEventListener("abort", () => this.push({ error: new ConnectError("aborted", Code.Canceled) }));
  }

  /** The server answers: the stream is open and subscribed. */
  open(): void {
    this.options.onHeader?.(new Headers());
  }

  send(event: TaskEvent): void {
    this.push({ event });
  }

  fail(code: Code): void {
    this.push({ error: new ConnectError("ended", code) });
  }

  async *responses(): AsyncGenerator<WatchTasksResponse> {
    for (;;) {
      const item = this.items.shift() ?? (await new Promise<void>((resolve) => (this.wake = resolve)), this.items.shift());
      if (!item || "end" in item) return;
      if ("error" in item) throw item.error;
      yield create(WatchTasksResponseSchema, { event: item.event });
    }
  }

  private push(item: Item): void {
    this.items.push(item);
    this.wake?.();
    this.wake = undefined;
  }
}

function start() {
  const calls: Call[] = [];
  const client = {
    watchTasks(_request: object, options: CallOptions = {}) {
      const call = new Call(options);
      calls.push(call);
      return call.responses();
    },
  };
  const waits: number[] = [];
  const handlers = { onEvent: vi.fn(), onConnected: vi.fn(), onDisconnected: vi.fn() };
  const stop = watchTasks(client, handlers, {
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  return { calls, waits, handlers, stop };
}

const event = (title: string) => create(TaskEventSchema, { kind: TaskEvent_Kind.CREATED, task: { id: title, title } });

describe("watching tasks", () => {
  it("reports the stream connected only once the server has answered, then passes events on", async () => {
    const { calls, handlers, stop } = start();
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(handlers.onConnected).not.toHaveBeenCalled();
    calls[0].open();
    expect(handlers.onConnected).toHaveBeenCalledTimes(1);
    calls[0].send(event("Buy milk"));
    await vi.waitFor(() => expect(handlers.onEvent).toHaveBeenCalledWith(expect.objectContaining({ task: expect.objectContaining({ title: "Buy milk" }) })));
    stop();
  });

  it("reconnects with growing waits while the server is away, and starts over once it is back", async () => {
    const { calls, waits, handlers, stop } = start();
    for (let attempt = 1; attempt <= 3; attempt++) {
      await vi.waitFor(() => expect(calls).toHaveLength(attempt));
      calls[attempt - 1].fail(Code.Unavailable);
    }
    await vi.waitFor(() => expect(calls).toHaveLength(4));
    expect(waits).toEqual([500, 1000, 2000]);
    expect(handlers.onDisconnected).toHaveBeenCalledTimes(3);
    expect(handlers.onConnected).not.toHaveBeenCalled();

    calls[3].open();
    calls[3].fail(Code.Unavailable);
    await vi.waitFor(() => expect(calls).toHaveLength(5));
    expect(waits).toEqual([500, 1000, 2000, 500]);
    expect(handlers.onConnected).toHaveBeenCalledTimes(1);
    stop();
  });

  it("reconnects at once, without reporting an outage, when an open stream's token expired", async () => {
    const { calls, waits, handlers, stop } = start();
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    calls[0].open();
    calls[0].fail(Code.Unauthenticated);
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    expect(waits).toEqual([]);
    expect(handlers.onDisconnected).not.toHaveBeenCalled();
    // Refused again before it opens: that is an outage like any other.
    calls[1].fail(Code.Unauthenticated);
    await vi.waitFor(() => expect(calls).toHaveLength(3));
    expect(waits).toEqual([500]);
    stop();
  });

  it("stops for good: the call is cancelled and nothing more happens", async () => {
    const { calls, handlers, stop } = start();
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    calls[0].open();
    stop();
    expect(calls[0].options.signal?.aborted).toBe(true);
    calls[0].send(event("too late"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toHaveLength(1);
    expect(handlers.onEvent).not.toHaveBeenCalled();
    expect(handlers.onDisconnected).not.toHaveBeenCalled();
  });
});
