/**
 * A single-consumer async queue of received messages with back-pressure hooks: the producer
 * (an HTTP/2 stream's data handler) pushes, the consumer iterates with `for await`. When more
 * than `highWater` messages wait, `pause` is called (the stream stops reading, so HTTP/2 flow
 * control pushes back on the sender); `resume` when the consumer has caught up.
 */

/** Callbacks a MessageQueue uses to apply back-pressure and to report an early exit. */
export interface MessageQueueHooks {
  pause?: () => void;
  resume?: () => void;
  /** The consumer stopped iterating before the end (`break`, `return`, a throw). */
  abandon?: () => void;
}

const DONE: IteratorResult<never> = { value: undefined, done: true };

/** See the module comment. Iterating it twice at once is not supported. */
export class MessageQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private head = 0;
  private ended = false;
  private error: unknown = undefined;
  private paused = false;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;

  constructor(
    private readonly hooks: MessageQueueHooks = {},
    private readonly highWater = 16,
  ) {}

  /** Adds a message; ignored after `end`/`fail`. */
  push(item: T): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.paused && this.items.length - this.head >= this.highWater) {
      this.paused = true;
      this.hooks.pause?.();
    }
  }

  /** Ends the stream normally: the consumer sees the buffered messages, then done. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const w = this.waiter;
    if (w && this.head >= this.items.length) {
      this.waiter = null;
      if (this.error !== undefined) w.reject(this.error);
      else w.resolve(DONE);
    }
  }

  /** Ends the stream with an error, thrown to the consumer after the buffered messages. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.error = error;
    this.end();
  }

  /** True once `end` or `fail` was called. */
  get closed(): boolean {
    return this.ended;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head] as T;
      this.items[this.head++] = undefined as T;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      }
      if (this.paused && this.items.length - this.head <= this.highWater >> 1) {
        this.paused = false;
        this.hooks.resume?.();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return this.error !== undefined ? Promise.reject(this.error) : Promise.resolve(DONE);
    if (this.paused) {
      this.paused = false;
      this.hooks.resume?.();
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Called by `for await` on `break`: drops what is left and tells the producer. */
  return(): Promise<IteratorResult<T>> {
    const wasEnded = this.ended;
    this.ended = true;
    this.error = undefined;
    this.items = [];
    this.head = 0;
    if (this.paused) {
      this.paused = false;
      this.hooks.resume?.();
    }
    if (!wasEnded) this.hooks.abandon?.();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
